"""``rplsim serve``: a local web page for the people who decide, on the CLI's service layer.

:func:`rplsim.app.web.server.create_app` builds the app (a FastAPI app: the JSON API under
``/api/`` and the page), :func:`rplsim.app.web.server.serve` runs it with uvicorn. The API is
documented in ``docs/web.md``.
"""
