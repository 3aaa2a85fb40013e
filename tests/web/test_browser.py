"""The page of ``rplsim serve`` in a real browser (Debian's headless Chromium, through Playwright).

One browser and one page for the module (the tests run in order, each from the state the one
before left); a record of every request the browser made, checked last to be on 127.0.0.1 only.
The measured times (the page's update latency, Simulate's) go to ``timings.json`` beside the
screenshot in the pytest temporary folder, and are printed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from rplsim import exact_power, find_sample_size, load_scenario
from rplsim.app.cli import main
from tests.conftest import SCENARIOS
from tests.web.conftest import keep_screenshot

pytestmark = pytest.mark.slow  # a browser session: seconds, not milliseconds

PAPER = SCENARIOS / "paper.toml"
TIMINGS: dict[str, object] = {}


def library(**trial: float) -> tuple[int, float]:
    """(n per arm, exact power at it) from the library for the paper's trial with ``trial`` changed."""
    sc = load_scenario(PAPER, {"trial": trial} if trial else None)
    n = find_sample_size(sc).n_per_arm
    return n, exact_power(sc, n).power


@pytest.fixture(scope="module")
def requests_seen() -> list[str]:
    return []


@pytest.fixture(scope="module")
def context(browser, requests_seen):
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    ctx.on("request", lambda r: requests_seen.append(r.url))
    yield ctx
    ctx.close()


def open_page(context, url):
    """A new tab of the shared browser context at ``url``, once the page has its first answer."""
    p = context.new_page()
    p.goto(url)
    wait_state(p, "ready")
    return p


@pytest.fixture(scope="module")
def page(context, live_server):
    p = context.new_page()
    p.goto(f"{live_server}/?scenario=paper.toml")
    p.wait_for_selector("body[data-state=ready]", timeout=30_000)
    return p


def shown(page) -> tuple[int, float]:
    n = int(page.get_attribute("#n-per-arm", "data-value"))
    return n, float(page.get_attribute("#power", "data-value"))


def set_field(page, param: str, text: str) -> None:
    page.fill(f"#in-{param}", text)  # an input event, as typing sends


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    """Poll ``expression`` in the page (page.wait_for_function would eval a string, which the
    page's Content-Security-Policy refuses, as it should)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.01)


def wait_updates(page, seen: int) -> None:
    """Until the page has shown more than ``seen`` exact answers, and drawn everything."""
    wait_until(page, f"window.rplsim.timings.length > {seen} && document.body.dataset.state === 'ready'")


def wait_state(page, state: str) -> None:
    page.wait_for_selector(f"body[data-state={state}]", timeout=30_000)


def test_loads_with_the_library_numbers(page):
    assert shown(page) == library()
    assert page.text_content("#power") == "80.2%"
    assert page.eval_on_selector_all("#curve polyline", "els => els.length") == 1
    assert page.eval_on_selector_all("#heatmap rect", "els => els.length") > 40


def test_moving_the_placebo_rate_updates_n_and_power(page, record_property):
    before = len(page.evaluate("window.rplsim.timings"))
    set_field(page, "control_lbr", "0.55")
    wait_updates(page, before)
    assert shown(page) == library(control_lbr=0.55)
    # and once more, to time a change whose answer is not cached anywhere yet
    set_field(page, "control_lbr", "0.52")
    wait_updates(page, before + 1)
    assert shown(page) == library(control_lbr=0.52)
    TIMINGS["update_latency_ms"] = page.evaluate("window.rplsim.timings")
    TIMINGS["analytic_latency_ms"] = page.evaluate("window.rplsim.analyticTimings")
    for what in ("update", "analytic"):
        ms = sorted(TIMINGS[f"{what}_latency_ms"])  # type: ignore[arg-type]
        record_property(
            f"measured: page {what} latency, input to shown (ms, median of {len(ms)})",
            round(ms[len(ms) // 2]),
        )
    set_field(page, "control_lbr", "0.55")
    wait_updates(page, before + 2)


def test_url_round_trip(page, context):
    query = parse_qs(urlsplit(page.url).query)
    assert query["control_lbr"] == ["0.55"] and query["scenario"] == ["paper.toml"]
    other = open_page(context, page.url)
    assert other.input_value("#in-control_lbr") == "0.55"
    assert shown(other) == shown(page) == library(control_lbr=0.55)
    other.close()


def test_bad_value_shows_the_cli_rule_and_computes_nothing(page, capsys):
    set_field(page, "alpha", "x")
    wait_state(page, "error")
    assert main(["power", str(PAPER), "--set", "trial.alpha=x"]) == 2
    assert page.text_content("#err-alpha") == capsys.readouterr().err.strip()
    assert page.text_content("#n-per-arm") == "—"
    set_field(page, "alpha", "0.05")
    wait_state(page, "ready")
    assert page.text_content("#err-alpha") == ""


def test_pin_and_compare(page):
    before = len(page.evaluate("window.rplsim.timings"))
    page.click("#pin")
    set_field(page, "control_lbr", "0.58")
    wait_updates(page, before)  # the new design shown (not the state before the change)
    pinned_and_current = f"\t{library(control_lbr=0.55)[0]}\t{library(control_lbr=0.58)[0]}"
    wait_until(page, f"document.querySelector('#side').innerText.includes({json.dumps(pinned_and_current)})")
    assert "pinned" in page.inner_text("#side")
    wait_until(page, "document.querySelectorAll('#compare tbody tr').length === 8")


def test_simulate_runs_to_completion(page, record_property):
    """Simulate at 10,000 replicates (the issue's figure), click to the result shown; the
    progress bar's values are read while it runs."""
    page.fill("#replicates", "10000")
    t0 = time.perf_counter()
    page.click("#simulate")
    page.wait_for_selector("body[data-simulate=running], body[data-simulate=done]", timeout=60_000)
    seen = set()
    while page.get_attribute("body", "data-simulate") == "running" and time.perf_counter() - t0 < 60:
        seen.add(page.eval_on_selector("#progress", "p => p.value / p.max"))
        time.sleep(0.02)
    page.wait_for_selector("body[data-simulate=done]", timeout=60_000)
    TIMINGS["simulate_10000_s"] = time.perf_counter() - t0
    record_property(
        "measured: Simulate 10,000 replicates in the browser, click to result (s)",
        round(TIMINGS["simulate_10000_s"], 2),
    )
    record_property("measured: progress values seen while it ran", len(seen))
    assert int(page.get_attribute("#sim-result", "data-n")) == shown(page)[0]
    assert page.eval_on_selector("#progress", "p => p.value === p.max")
    assert page.inner_text("#sim-result").count("10,000") >= 1  # the replicates it ran
    page.fill("#replicates", "")


def test_downloaded_toml_reproduces_n_with_rplsim_run(page, tmp_path):
    with page.expect_download() as info:
        page.click("#dl-toml")
    f = tmp_path / info.value.suggested_filename
    info.value.save_as(f)
    assert f.name == "paper_web.toml"
    # `rplsim run FILE` itself (in process, SVG figures only); the exact n does not depend on
    # --replicates, which keeps the simulated check short
    out = tmp_path / "run"
    assert main(["--quiet", "run", str(f), "--out", str(out), "--replicates", "200", "--format", "svg"]) == 0
    power = (out / "power.csv").read_text(encoding="utf-8").splitlines()
    row = dict(zip(power[0].split(","), power[1].split(","), strict=True))
    assert int(row["n_control"]) == shown(page)[0]


def test_closing_the_page_cancels_its_simulation(context, live_server):
    import httpx

    p = open_page(context, f"{live_server}/?scenario=paper.toml")
    p.fill("#replicates", "50000000")
    p.click("#simulate")
    p.wait_for_selector("body[data-simulate=running]")
    job = p.evaluate("window.rplsim.state.job.id")
    p.close()
    deadline = time.monotonic() + 10
    while httpx.get(f"{live_server}/api/jobs/{job}").json()["state"] == "running":
        assert time.monotonic() < deadline, "the job outlived its page"
        time.sleep(0.05)
    assert httpx.get(f"{live_server}/api/jobs/{job}").json()["state"] == "cancelled"


def test_screenshot(page, artefacts):
    shot = artefacts / "web.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    keep_screenshot(shot)
    (artefacts / "timings.json").write_text(json.dumps(TIMINGS, indent=1))
    print(f"\nscreenshot {shot}; timings {json.dumps(TIMINGS)}")


def test_picking_a_scenario_with_a_prior_shows_its_assurance(context, live_server):
    p = open_page(context, f"{live_server}/")
    p.select_option("#scenario", "assurance.toml")
    p.wait_for_selector("#assurance tbody tr")
    wait_state(p, "ready")
    assert "scenario=assurance.toml" in p.url and p.is_visible("#in-prior_control_lbr")
    rows = p.eval_on_selector_all("#assurance tbody tr", "rows => rows.map(r => r.cells[0].textContent)")
    assert rows == ["evidence-based", "sceptical", "enthusiastic"]
    p.close()


def test_nothing_requested_outside_127_0_0_1(requests_seen):
    assert requests_seen
    hosts = {urlsplit(u).hostname for u in requests_seen if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, hosts


def test_requests_were_recorded_from_every_page(requests_seen):
    assert any(Path(urlsplit(u).path).name == "app.js" for u in requests_seen)
