"""Fixtures of the web tests: the app in process, a live server on 127.0.0.1, a headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SCENARIOS

CHROMIUM = Path(os.environ.get("RPLSIM_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium calls Google's servers at start-up.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def app() -> Any:
    """The app of ``rplsim serve scenarios/paper.toml`` (no fork server warmed: the API tests)."""
    from rplsim.app.web.server import create_app

    return create_app(SCENARIOS / "paper.toml", warm=False)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[Any]:
    """Starlette's test client over ``app`` (no socket)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """``rplsim serve``'s app under uvicorn on 127.0.0.1 (a free port), in a thread: its URL."""
    import uvicorn

    from rplsim.app.web.server import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(SCENARIOS / "paper.toml"), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (skipped when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (CI installs it, .ci/run)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' brings playwright")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests keep their screenshot and timings (printed at the end)."""
    return tmp_path_factory.mktemp("web-artefacts")


def keep_screenshot(path: Path) -> None:
    """Copy the screenshot to ``$RPLSIM_SCREENSHOT_TO`` when set (docs/web.png is made so)."""
    target = os.environ.get("RPLSIM_SCREENSHOT_TO")
    if target:
        shutil.copyfile(path, target)
