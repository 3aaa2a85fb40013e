"""The JSON API under ``/api/`` (``docs/web.md``): what the page calls, and any other tool can.

Every computing endpoint takes the page's state as its query string (``scenario=paper.toml&
control_lbr=0.55``, :mod:`rplsim.app.web.fields`). Bad input is HTTP 422 with the CLI's one-line
rule text in ``detail``, every problem in ``problems`` and each under its field in ``fields``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse

from rplsim.app.web import compute
from rplsim.app.web.fields import PageState, ScenarioFiles, field_problems, field_values, parse_state
from rplsim.app.web.jobs import KINDS, JobManager
from rplsim.exceptions import RplsimError, ScenarioError
from rplsim.figures import check_formats
from rplsim.scenario import Scenario

__all__ = ["build_router", "problem_response"]

COMPARE_REPLICATES = 2000
"""Simulated trials per cell of a comparison where a design is not exact (the page's table)."""
MAX_COMPARE_REPLICATES = 100_000
"""The most a comparison request may ask for (a cell at 100,000 trials takes seconds)."""
MAX_COMPARED = 8
"""The most designs one comparison compares."""


def problem_response(exc: ScenarioError, status: int = 422) -> JSONResponse:
    """The 422 answer to bad input: the first rule line, every line, and the lines by field.

    Examples
    --------
    >>> r = problem_response(ScenarioError("--set trial.alpha=x: trial.alpha == \\"x\\", must be a number."))
    >>> r.status_code, json.loads(r.body)["fields"]["alpha"][0][:20]
    (422, '--set trial.alpha=x:')
    """
    body = {"detail": exc.problems[0], "problems": exc.problems, "fields": field_problems(exc.problems)}
    return JSONResponse(body, status_code=status)


def build_router(files: ScenarioFiles, jobs: JobManager, default: str) -> APIRouter:
    """The ``/api/`` routes over the scenario files ``files`` (``default`` preselected).

    Examples
    --------
    >>> r = build_router(ScenarioFiles("scenarios"), JobManager(), "paper.toml")
    >>> sorted(x.path for x in r.routes)[:3]
    ['/api/analytic', '/api/assurance', '/api/compare']
    """
    router = APIRouter(prefix="/api")
    memo = compute.Memo()

    def state_of(request: Request) -> PageState:
        return parse_state(dict(request.query_params), files)

    def scenario_of(state: PageState) -> Scenario:
        return memo.get(("scenario", state.scenario, state.items), lambda: state.load(files), exclusive=False)

    def design(state: PageState) -> dict[str, Any]:
        sc = scenario_of(state)
        return memo.get(("design", state.scenario, state.items), lambda: compute.design_numbers(sc))

    def answer(make: Callable[[], Any]) -> Any:
        try:
            return make()
        except ScenarioError as exc:
            return problem_response(exc)
        except RplsimError as exc:  # an input the design cannot be computed at (said in one line)
            return problem_response(ScenarioError(str(exc).splitlines()[0] if str(exc) else repr(exc)))

    @router.get("/scenarios")
    def scenarios() -> dict[str, Any]:
        rows = []
        for name in files.names():
            try:
                sc = files.base(name)
            except ScenarioError:
                continue  # a file that does not load is not offered
            if sc.trial is None:
                continue
            rows.append(
                {
                    "file": name,
                    "name": sc.name,
                    "description": sc.scenario.description,
                    "prior": sc.prior is not None,
                }
            )
        return {"default": default, "scenarios": rows}

    @router.get("/fields")
    def fields(scenario: str = default) -> Any:
        def make() -> dict[str, Any]:
            files.path(scenario)  # an unknown file: 422 naming the files offered
            sc = files.base(scenario)
            trial = sc.require_trial()
            return {
                "scenario": scenario,
                "fields": field_values(files, scenario),
                "replicates": trial.replicates,
                "prior": sc.prior is not None,
            }

        return answer(make)

    @router.get("/analytic")
    def analytic(request: Request) -> Any:
        def make() -> dict[str, Any]:
            st = state_of(request)
            sc = scenario_of(st)
            return memo.get(
                ("analytic", st.scenario, st.items), lambda: compute.analytic_numbers(sc), exclusive=False
            )

        return answer(make)

    @router.get("/design")
    def design_endpoint(request: Request) -> Any:
        return answer(lambda: design(state_of(request)))

    @router.get("/curve")
    def curve(request: Request) -> Any:
        def make() -> dict[str, Any]:
            st = state_of(request)
            d = design(st)
            rows = memo.get(
                ("curve", st.scenario, st.items),
                lambda: compute.curve_rows(scenario_of(st), d["n_per_arm"]),
            )
            return {"n_per_arm": d["n_per_arm"], "target_power": d["target_power"], "rows": rows}

        return answer(make)

    @router.get("/curve.csv")
    def curve_csv(request: Request) -> Any:
        def make() -> Response:
            body = curve(request)
            if isinstance(body, Response):
                return body
            rows = body["rows"]
            cols = list(rows[0])
            lines = [",".join(cols)] + [
                ",".join("" if r[c] is None else str(r[c]) for c in cols) for r in rows
            ]
            name = Path(request.query_params.get("scenario", "power")).stem
            return PlainTextResponse(
                "\n".join(lines) + "\n",
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}_power_curve.csv"'},
            )

        return answer(make)

    @router.get("/sensitivity")
    def sensitivity(request: Request) -> Any:
        def make() -> dict[str, Any]:
            st = state_of(request)
            return memo.get(("heat", st.scenario, st.items), lambda: compute.heat_map(scenario_of(st)))

        return answer(make)

    @router.get("/assurance")
    def assurance(request: Request) -> Any:
        def make() -> dict[str, Any]:
            st = state_of(request)
            n = design(st)["n_per_arm"]
            return memo.get(
                ("assurance", st.scenario, st.items), lambda: compute.assurance_rows(scenario_of(st), n)
            )

        return answer(make)

    @router.get("/scenario.toml")
    def scenario_toml(request: Request) -> Any:
        def make() -> Response:
            st = state_of(request)
            text = compute.scenario_toml(scenario_of(st), st.scenario, st.items, st.replicates)
            stem = Path(st.scenario).stem
            return PlainTextResponse(
                text,
                media_type="application/toml",
                headers={"Content-Disposition": f'attachment; filename="{stem}_web.toml"'},
            )

        return answer(make)

    @router.post("/compare")
    async def compare(request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return problem_response(ScenarioError('the request body is not JSON; send {"designs": [...]}.'))

        def make() -> dict[str, Any]:
            from urllib.parse import parse_qsl

            designs = body.get("designs") if isinstance(body, dict) else None
            if not isinstance(designs, list) or not 2 <= len(designs) <= MAX_COMPARED:
                raise ScenarioError(
                    f'designs: must be a list of 2 to {MAX_COMPARED} {{"name", "query"}} objects.'
                )
            named = []
            for d in designs:
                if not isinstance(d, dict):
                    raise ScenarioError(f'designs: {d!r} is not a {{"name", "query"}} object.')
                st = parse_state(dict(parse_qsl(str(d.get("query", "")))), files)
                named.append((str(d.get("name", "")), scenario_of(st)))
            rates = compute.check_rates(str(body.get("control_lbr", "0.45,0.55,0.65,0.75")))
            reps = body.get("replicates", COMPARE_REPLICATES)
            if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= MAX_COMPARE_REPLICATES:
                raise ScenarioError(
                    f"replicates == {reps!r}, must be an integer from 1 to {MAX_COMPARE_REPLICATES:,}."
                )
            with compute.LIBRARY_LOCK:
                return {"rows": compute.compare_rows(named, rates, reps)}

        return await asyncio.to_thread(answer, make)

    @router.post("/jobs")
    def start_job(request: Request, kind: str = "simulate", format: str = "png,svg") -> Any:
        def make() -> Any:
            if kind not in KINDS:
                raise ScenarioError(f"kind == {kind!r}, must be one of {', '.join(KINDS)}.")
            try:
                formats = check_formats(format)
            except ValueError as exc:  # as `rplsim run --format` says it
                raise ScenarioError(f"format {format!r}: {exc}") from None
            query = {k: v for k, v in request.query_params.items() if k not in ("kind", "format")}
            st = parse_state(query, files)
            scenario_of(st)  # bad input: 422 now, not a failed job later
            try:
                job = jobs.start(kind, str(files.path(st.scenario)), list(st.items), st.replicates, formats)
            except RuntimeError as exc:
                return JSONResponse({"detail": str(exc)}, status_code=429)
            return job.status()

        return answer(make)

    def job_or_404(job_id: str) -> Any:
        job = jobs.get(job_id)
        if job is None:
            return JSONResponse({"detail": f"no job {job_id!r}"}, status_code=404)
        return job

    @router.get("/jobs/{job_id}")
    def job_status(job_id: str) -> Any:
        job = job_or_404(job_id)
        return job if isinstance(job, Response) else job.status()

    @router.delete("/jobs/{job_id}")
    def job_delete(job_id: str) -> Any:
        job = jobs.cancel(job_id)
        return job.status() if job is not None else job_or_404(job_id)

    # navigator.sendBeacon can only POST: the page's pagehide cancel
    router.add_api_route("/jobs/{job_id}/cancel", job_delete, methods=["POST"])

    @router.get("/jobs/{job_id}/events")
    async def job_events(job_id: str, request: Request) -> Any:
        job = job_or_404(job_id)
        if isinstance(job, Response):
            return job

        async def stream() -> AsyncIterator[str]:
            # the page holds this stream open while it lives: when it closes, the job is cancelled
            last = None
            try:
                while True:
                    status = job.status()
                    now = json.dumps({k: v for k, v in status.items() if k != "seconds"})
                    if now != last:
                        last = now
                        yield f"data: {json.dumps(status)}\n\n"
                    if status["state"] != "running":
                        return
                    if await request.is_disconnected():
                        jobs.cancel(job_id)
                        return
                    await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                jobs.cancel(job_id)
                raise

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @router.get("/jobs/{job_id}/report.html")
    def job_report(job_id: str) -> Any:
        job = job_or_404(job_id)
        if isinstance(job, Response):
            return job
        if job.kind != "report" or job.state != "done" or not job.result:
            return JSONResponse(
                {"detail": f"job {job_id} has no report (state {job.state})"}, status_code=409
            )
        return FileResponse(
            job.result["report"],
            media_type="text/html",
            headers={"Content-Disposition": 'attachment; filename="report.html"'},
        )

    return router
