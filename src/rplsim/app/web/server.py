"""The app of ``rplsim serve``: the page, its static files and the API, run by uvicorn.

FastAPI (on Starlette) with a plain HTML page: a JSON API that other tools can call is the
point of the page, and FastAPI gives it with validation and an OpenAPI description for free;
the page itself is one HTML file, one script and one style sheet, all served from here.
"""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from rplsim.app.web.api import build_router
from rplsim.app.web.fields import ScenarioFiles
from rplsim.app.web.jobs import JobManager

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "STATIC", "create_app", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
STATIC = Path(__file__).with_name("static")
"""The page's files (package data)."""

# The page loads nothing from another host; this tells the browser to refuse if it ever tried.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)


def create_app(
    scenario: str | Path | None = None,
    *,
    folder: str | Path | None = None,
    warm: bool = True,
    hosts: list[str] | None = None,
) -> FastAPI:
    """The FastAPI app of ``rplsim serve``.

    Parameters
    ----------
    scenario : str or Path, optional
        The file preselected on the page (default ``scenarios/paper.toml`` when there).
    folder : str or Path, optional
        The folder whose ``*.toml`` the picker lists (default: ``scenario``'s folder, else
        ``scenarios/``).
    warm : bool, default True
        Start the jobs' fork server at once (the first Simulate does not wait for it).
    hosts : list of str, optional
        The ``Host`` headers answered (others get 400), so that a web site cannot reach the
        page through a DNS name rebound to 127.0.0.1; default: any (``serve`` sets it).

    Returns
    -------
    fastapi.FastAPI

    Examples
    --------
    >>> app = create_app("scenarios/paper.toml", warm=False)
    >>> sorted(app.state.files.names())[:2]
    ['assurance.toml', 'futility.toml']
    """
    path = Path(scenario) if scenario is not None else Path("scenarios") / "paper.toml"
    where = Path(folder) if folder is not None else path.parent
    files = ScenarioFiles(where, extra=path if path.exists() else None)
    default = path.name if path.name in files.names() else (files.names() or [""])[0]
    jobs = JobManager()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            jobs.warm()
        yield
        jobs.shutdown()

    # no /docs: FastAPI's Swagger page loads its script from a CDN, and the page must not
    app = FastAPI(
        title="rplsim", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json"
    )
    app.state.jobs = jobs
    app.state.files = files
    app.include_router(build_router(files, jobs, default))
    if hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def headers(request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path.startswith("/api/") and _cross_site(request):
            # another site's page in the same browser must not start jobs or searches here
            return JSONResponse({"detail": "cross-site requests to the rplsim API are refused."}, 403)
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        return response

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app


def _cross_site(request: Request) -> bool:
    """Whether a browser says the request comes from another site's page: ``Sec-Fetch-Site``
    cross-site, or an ``Origin`` whose host is not the one asked (tools such as curl send
    neither, and are served).

    Examples
    --------
    >>> from starlette.requests import Request
    >>> def req(headers):
    ...     raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    ...     return Request({"type": "http", "headers": raw, "method": "POST", "path": "/api/jobs"})
    >>> _cross_site(req({"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}))
    False
    >>> _cross_site(req({"host": "127.0.0.1:8765", "origin": "https://example.com"}))
    True
    >>> _cross_site(req({"host": "127.0.0.1:8765", "sec-fetch-site": "cross-site"}))
    True
    """
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != request.headers.get("host", "")


def serve(
    scenario: str | Path | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
) -> None:
    """Serve the page at ``http://host:port/`` until interrupted (uvicorn).

    Examples
    --------
    >>> serve("scenarios/paper.toml", port=8765)  # doctest: +SKIP
    """
    import uvicorn

    anywhere = host in ("0.0.0.0", "::", "")
    app = create_app(scenario, hosts=None if anywhere else sorted({host, "127.0.0.1", "localhost"}))
    url = f"http://{host}:{port}/"
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    print(f"rplsim serve: {url} (Ctrl-C stops it)", flush=True)
    # an open event stream (a page following its Simulate) must not hold Ctrl-C for long
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
