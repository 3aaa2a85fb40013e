"""The JSON API of ``rplsim serve`` without a browser: the same numbers as the library, the CLI's
rule text on bad input, the downloads, the jobs, and 200 concurrent requests."""

from __future__ import annotations

import asyncio
import statistics
import time
import tomllib

import pytest

from rplsim import exact_power, find_sample_size, load_scenario
from rplsim.app.cli import main
from tests.conftest import SCENARIOS

PAPER = str(SCENARIOS / "paper.toml")
# Starlette's TestClient warns that it wants httpx2; the httpx it has works.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")


def test_scenarios_lists_the_folder_with_the_file_preselected(client):
    body = client.get("/api/scenarios").json()
    files = [s["file"] for s in body["scenarios"]]
    assert body["default"] == "paper.toml"
    assert {"paper.toml", "assurance.toml", "group_sequential.toml"} <= set(files)
    assert next(s for s in body["scenarios"] if s["file"] == "assurance.toml")["prior"] is True


def test_fields_are_the_file_values(client):
    fields = {f["param"]: f for f in client.get("/api/fields?scenario=paper.toml").json()["fields"]}
    assert fields["control_lbr"]["value"] == "0.6" and fields["treatment_lbr"]["value"] == "0.807"
    assert "ivig_odds_ratio" not in fields and "prior_control_lbr" not in fields
    assert "chi2" in fields["analysis"]["choices"]
    prior = client.get("/api/fields?scenario=assurance.toml").json()["fields"]
    assert any(f["param"] == "prior_control_lbr" for f in prior)


@pytest.mark.parametrize("control", [0.55, 0.6])
def test_design_equals_the_library(client, control):
    d = client.get(f"/api/design?scenario=paper.toml&control_lbr={control}&alpha=0.05").json()
    sc = load_scenario(PAPER, {"trial": {"control_lbr": control}})
    n = find_sample_size(sc).n_per_arm
    assert (d["n_per_arm"], d["method"]) == (n, "exact")
    assert d["power"] == exact_power(sc, n).power
    assert d["n_randomised"] == 2 * n and d["n_screened"] > d["n_eligible"] > d["n_randomised"]


def test_design_that_exact_power_does_not_cover_is_analytic(client):
    d = client.get("/api/design?scenario=group_sequential.toml").json()
    assert d["method"] == "analytic" and "dropout" in d["exact_note"]
    assert d["n_per_arm"] == d["analytic_n_per_arm"]


def test_bad_input_is_422_with_the_cli_rule_text(client, capsys):
    r = client.get("/api/design?scenario=paper.toml&control_lbr=1.5")
    assert r.status_code == 422
    assert main(["power", PAPER, "--set", "trial.control_lbr=1.5"]) == 2
    cli_line = capsys.readouterr().err.strip()
    assert r.json()["detail"] == cli_line
    assert r.json()["fields"] == {"control_lbr": [cli_line]}


def test_a_problem_naming_no_input_goes_to_the_general_box(client):
    r = client.get("/api/design?scenario=paper.toml&allocation_ratio=2")  # against block_size = 4
    assert r.status_code == 422 and list(r.json()["fields"]) == [""]
    assert "trial.block_size == 4" in r.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "scenario=nope.toml",
        "scenario=../paper.toml",
        "scenario=paper.toml&bogus=1",
        "scenario=paper.toml&replicates=0",
    ],
)
def test_bad_request_is_one_line_422(client, query):
    r = client.get(f"/api/design?{query}")
    assert r.status_code == 422
    assert "\n" not in r.json()["detail"]


def test_unchanged_inputs_keep_the_file_sources(client):
    toml = client.get("/api/scenario.toml?scenario=paper.toml&control_lbr=0.6&treatment_lbr=0.807").text
    assert "nothing changed" in toml and "Table 3: 159 of 197" in toml


def test_scenario_toml_reproduces_the_page(client, tmp_path):
    r = client.get("/api/scenario.toml?scenario=paper.toml&control_lbr=0.55&dropout=0.15")
    assert r.headers["content-disposition"].endswith('"paper_web.toml"')
    f = tmp_path / "paper_web.toml"
    f.write_text(r.text)
    data = tomllib.loads(r.text)
    assert data["trial"]["control_lbr"] == 0.55 and "extends" not in data
    d = client.get("/api/design?scenario=paper.toml&control_lbr=0.55&dropout=0.15").json()
    assert find_sample_size(load_scenario(f)).n_per_arm == d["n_per_arm"]


def test_curve_csv_is_the_curve(client):
    body = client.get("/api/curve?scenario=paper.toml").json()
    csv = client.get("/api/curve.csv?scenario=paper.toml")
    lines = csv.text.strip().splitlines()
    assert csv.headers["content-type"].startswith("text/csv")
    assert lines[0].startswith("n_per_arm,") and len(lines) == len(body["rows"]) + 1
    assert body["n_per_arm"] in [r["n_per_arm"] for r in body["rows"]]


def test_heat_map_and_assurance(client):
    h = client.get("/api/sensitivity?scenario=paper.toml").json()
    assert len(h["cells"]) == len(h["control_lbr"]) * len(h["treatment_lbr"])
    a = client.get("/api/assurance?scenario=assurance.toml").json()
    assert a["available"] and a["rows"][0]["prior"] == "evidence-based"
    assert client.get("/api/assurance?scenario=paper.toml").json()["available"] is False


def test_the_prior_is_an_input(client):
    base = client.get("/api/assurance?scenario=assurance.toml").json()["rows"][0]["assurance"]
    moved = client.get("/api/assurance?scenario=assurance.toml&prior_control_lbr={ beta = [30, 20] }").json()
    assert moved["rows"][0]["assurance"] != base  # the page's prior, not the file's
    bad = client.get("/api/assurance?scenario=assurance.toml&prior_control_lbr={ beta = [0, 20] }")
    assert bad.status_code == 422 and list(bad.json()["fields"]) == ["prior_control_lbr"]


def test_compare_two_designs(client):
    designs = [
        {"name": "pinned", "query": "scenario=paper.toml"},
        {"name": "current", "query": "scenario=paper.toml&control_lbr=0.55"},
    ]
    rows = client.post("/api/compare", json={"designs": designs, "control_lbr": "0.5,0.6"}).json()["rows"]
    assert [(r["design"], r["true_control_lbr"]) for r in rows] == [
        ("pinned", 0.5), ("pinned", 0.6), ("current", 0.5), ("current", 0.6)
    ]  # fmt: skip
    assert client.post("/api/compare", json={"designs": designs[:1]}).status_code == 422
    for bad in (
        {"designs": [1, 2]},
        {"designs": designs, "replicates": "x"},
        {"designs": designs, "replicates": 0},
    ):
        r = client.post("/api/compare", json=bad)
        assert r.status_code == 422 and "\n" not in r.json()["detail"], (bad, r.text)
    r = client.post("/api/compare", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not JSON" in r.json()["detail"]


def test_a_cross_field_rule_is_shown_beside_the_moved_field(client):
    r = client.get("/api/design?scenario=paper.toml&treatment_lbr=0.5")
    assert r.status_code == 422 and list(r.json()["fields"]) == ["treatment_lbr"], r.json()


def test_a_design_too_big_for_a_live_exact_search_is_answered_analytically_at_once(client):
    """Placebo 0.8 against IVIG 0.807 asks for 56,202 per arm (the formula): an exact search
    there would take hours, so the page's answer is the analytic one, labelled so, in well
    under a second."""
    started = time.perf_counter()
    d = client.get("/api/design?scenario=paper.toml&control_lbr=0.8").json()
    assert d["method"] == "analytic" and "live exact budget" in d["exact_note"]
    assert time.perf_counter() - started < 5


def _wait(client, job_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        s = client.get(f"/api/jobs/{job_id}").json()
        if s["state"] != "running" or time.monotonic() > deadline:
            return s
        time.sleep(0.05)


@pytest.mark.slow
def test_simulate_job_and_cancel(client):
    s = client.post("/api/jobs?scenario=paper.toml&replicates=1024&kind=simulate").json()
    done = _wait(client, s["id"])
    assert done["state"] == "done", done
    assert done["result"]["n_per_arm"] == 83 and done["result"]["replicates"] == 1024
    long = client.post("/api/jobs?scenario=paper.toml&replicates=50000000&kind=simulate").json()
    assert client.delete(f"/api/jobs/{long['id']}").json()["state"] == "cancelled"
    assert client.get(f"/api/jobs/{long['id']}").json()["state"] == "cancelled"
    assert client.post("/api/jobs?scenario=paper.toml&kind=nope").status_code == 422
    assert client.post("/api/jobs?scenario=paper.toml&kind=report&format=jpg").status_code == 422
    assert client.post("/api/jobs?scenario=paper.toml&alpha=2&kind=simulate").status_code == 422


@pytest.mark.slow
def test_report_job_is_the_run_report(client):
    # `rplsim run --replicates 2 --format svg`'s report (the default png,svg only adds the PNGs' links)
    s = client.post(
        "/api/jobs?scenario=paper.toml&control_lbr=0.55&replicates=2&kind=report&format=svg"
    ).json()
    done = _wait(client, s["id"], timeout=120)
    assert done["state"] == "done", done
    html = client.get(f"/api/jobs/{s['id']}/report.html").text
    assert "A total of 112 women (56 per arm)" in html  # the protocol paragraph, 56 per arm at 0.55
    assert "<html" in html.lower()


@pytest.mark.slow
def test_200_concurrent_requests(live_server, record_property):
    import httpx

    url = f"{live_server}/api/design?scenario=paper.toml&control_lbr=0.57"

    async def run() -> list[tuple[int, float]]:  # 200 at once: the first computes, the rest wait
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=60) as http:

            async def one() -> tuple[int, float]:
                t0 = time.perf_counter()
                r = await http.get(url)
                return r.status_code, time.perf_counter() - t0

            return await asyncio.gather(*(one() for _ in range(200)))

    cold = asyncio.run(run())
    warm = asyncio.run(run())  # the same 200 once the answer is cached
    for results in (cold, warm):
        assert [c for c, _ in results] == [200] * 200
    medians = [1000 * statistics.median(t for _, t in r) for r in (cold, warm)]
    record_property(
        "measured: 200 concurrent /api/design, median latency, one new design (ms)", round(medians[0])
    )
    record_property("measured: 200 concurrent /api/design, median latency, cached (ms)", round(medians[1]))


def test_another_site_s_page_cannot_drive_the_api(client):
    """A page of another site in the same browser (its Origin, or Sec-Fetch-Site cross-site) is
    refused before anything runs; the page's own requests and tools without those headers pass."""
    evil = client.post(
        "/api/jobs?scenario=paper.toml&replicates=100", headers={"origin": "https://example.com"}
    )
    assert evil.status_code == 403
    assert (
        client.get("/api/design?scenario=paper.toml", headers={"sec-fetch-site": "cross-site"}).status_code
        == 403
    )
    own = client.get("/api/analytic?scenario=paper.toml", headers={"origin": "http://testserver"})
    assert own.status_code == 200


@pytest.mark.slow
def test_concurrent_requests_for_different_answers_do_not_corrupt_the_exact_caches(live_server):
    """The page asks for the curve, the heat map and assurance at once; the exact methods'
    caches are not thread-safe, so the server computes one library answer at a time
    (compute.LIBRARY_LOCK). Without it, these 24 requests (6 new designs) answered 500 in 22 and
    in 7 of 24 in two runs (two exact computations at once broke the threshold store: "could not
    broadcast input array"); with it, none."""
    import concurrent.futures

    import httpx

    rates = (0.55, 0.56, 0.57, 0.58, 0.59, 0.6)
    paths = [
        f"/api/{p}?scenario=assurance.toml&control_lbr={c}" for c in rates for p in ("assurance", "curve")
    ]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: httpx.get(live_server + p, timeout=120), paths * 2))
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text[:200] for a in answers]
