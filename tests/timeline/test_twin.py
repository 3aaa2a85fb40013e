"""The vectorised twin's randomness and plan: keyed per-woman uniforms, the IVF day split."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rplsim import generate_cohort, scenario_from_dict
from rplsim._core.rng import child_generator
from rplsim.timeline.simulation import simulate_timeline
from rplsim.timeline.twin import N_UNIFORMS, _plan, patient_uniforms

SEEDS = st.integers(0, 2**32 - 1)


@given(ids=st.lists(st.integers(0, 3 * 8192), min_size=1, max_size=40), seed=SEEDS)
def test_patient_uniforms_are_keyed_by_id(ids, seed):
    ids = np.array(ids)
    u = patient_uniforms(seed, ids)
    assert u.shape == (ids.size, N_UNIFORMS)
    assert np.all((u >= 0) & (u < 1))
    # Row of an id = that id's row of a full, sorted draw; order and company do not matter.
    full = patient_uniforms(seed, np.arange(ids.max() + 1))
    np.testing.assert_array_equal(u, full[ids])
    np.testing.assert_array_equal(patient_uniforms(seed, ids[::-1]), u[::-1])
    assert not np.array_equal(patient_uniforms(seed, ids, stage="other"), u)


def test_patient_uniforms_regression():
    # Pinned layout: row i of block b is row i of random((8192, 24)) on stream (stage, b).
    u = patient_uniforms(7, np.array([0, 8193, 5]))
    rows0 = child_generator(7, "timeline", 0).random((8192, 24))
    rows1 = child_generator(7, "timeline", 1).random((8192, 24))
    np.testing.assert_array_equal(u, np.vstack([rows0[0], rows1[1], rows0[5]]))


def _protocol(paper, **changes: object):
    data = paper.to_dict()
    data["protocol"] = {**data["protocol"], **changes}
    data["cohort"] = {**data["cohort"], "ivf_share": 1.0}
    return scenario_from_dict(data, "test")


def test_the_ivf_day_split_follows_the_protocol_keys(paper):
    """The retrieval / transfer dosing split and the day-5 share are scenario keys (defaults 0.5, 0.25)."""
    cohort = generate_cohort(paper, n=2000, seed=3)
    u = patient_uniforms(3, cohort["patient_id"].to_numpy())
    ivf = (cohort["conception"] == "ivf").to_numpy()
    default = _plan(cohort, paper, u)
    u_ivf = u[:, 7]
    np.testing.assert_array_equal(default.transfer_days, np.where(u_ivf >= 0.75, 5, 3))
    week = paper.protocol.ivf_first_dose_week
    np.testing.assert_array_equal(default.first[ivf & (u_ivf < 0.5)], week)
    sc = _protocol(paper, ivf_retrieval_dose_share=1.0, ivf_day5_transfer_share=0.0)
    plan = _plan(cohort, sc, u)
    assert np.all(plan.transfer_days == 3)
    assert np.all(plan.first[ivf] == week)
    sc = _protocol(paper, ivf_retrieval_dose_share=0.0, ivf_day5_transfer_share=1.0)
    plan = _plan(cohort, sc, u)
    assert np.all(plan.transfer_days == 5)
    np.testing.assert_allclose(plan.first[ivf], week + 5 / 7)


def test_cause_treatment_weeks_are_protocol_keys(paper):
    sc = _protocol(paper, cause_treatment_week={"thrombophilia": -10.0})
    cohort = generate_cohort(sc, n=400, seed=5)
    ev = simulate_timeline(cohort, sc, 5).events
    start = ev[ev["event"] == "aspirin_lmwh_start"]
    assert len(start) and np.all(start["gestational_week"] == -10.0)
    surgery = ev[ev["event"] == "surgery"]
    assert len(surgery) and np.all(surgery["gestational_week"] == -12.0)  # the default
