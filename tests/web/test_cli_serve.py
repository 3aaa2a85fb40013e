"""``rplsim serve``: bad input is one line and exit 2 before any server starts; the real command
serves the page on 127.0.0.1; ``rplsim --help`` does not load the web stack."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from rplsim.app.cli import main
from rplsim.trial.pool import process_alive
from tests.conftest import ROOT, SCENARIOS
from tests.web.conftest import _free_port


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["serve", "nope.toml"], "nope.toml"),
        (["serve", str(SCENARIOS / "paper.toml"), "--port", "0"], "--port == 0"),
        (["serve", str(SCENARIOS / "paper.toml"), "--port", "x"], "invalid int value"),
    ],
)
def test_bad_serve_is_one_line_exit_2(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err


def test_a_port_in_use_is_one_line_exit_2_before_any_server(capsys):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", str(SCENARIOS / "paper.toml"), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--port {port}: cannot listen there" in err and "\n" not in err


def test_serve_help_has_an_example(capsys):
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "rplsim serve scenarios/paper.toml" in out and "--host" in out and "127.0.0.1" in out


@pytest.mark.slow
def test_the_command_line_does_not_load_the_web_stack():
    code = (
        "import sys, rplsim.app.cli; print({m.split('.')[0] for m in sys.modules} & {'fastapi', 'uvicorn'})"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "set()"


@pytest.mark.slow
def test_rplsim_serve_serves_the_page():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rplsim", "serve", "scenarios/paper.toml", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
                time.sleep(0.1)
        assert page.status_code == 200 and 'id="n-per-arm"' in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/scenarios").json()["default"] == "paper.toml"
        # a DNS name rebound to 127.0.0.1 does not reach the page
        rebound = httpx.get(f"http://127.0.0.1:{port}/api/scenarios", headers={"Host": "evil.example"})
        assert rebound.status_code == 400
        # a Simulate that would run for minutes does not outlive a server killed outright
        job = httpx.post(f"http://127.0.0.1:{port}/api/jobs?scenario=paper.toml&replicates=50000000").json()
        assert job["state"] == "running" and process_alive(job["pid"])
    finally:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in out
    deadline = time.monotonic() + 5
    while process_alive(job["pid"]):
        assert time.monotonic() < deadline, "the job outlived its server"
        time.sleep(0.1)
