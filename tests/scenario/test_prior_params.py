"""The [prior] section: its forms, its rules (one line each), overrides, TOML round trip, docs."""

from __future__ import annotations

import math

import pytest

from rplsim import ScenarioError, load_scenario
from rplsim.app.cli import main
from rplsim.design.priors import BetaPrior, JointPrior, LogNormalPrior, MixturePrior
from rplsim.scenario import PriorComponent, PriorParams, PriorSpec, scenario_from_dict
from rplsim.scenario.docs import scenario_docs
from rplsim.scenario.schema import iter_params
from rplsim.scenario.tomlio import dumps_toml, write_scenario
from rplsim.sweep.grid import plan_sweep

TRIAL = "[trial]\ncontrol_lbr = 0.5\ntreatment_lbr = 0.7\n"
HEAD = f'[scenario]\nname = "p"\n{TRIAL}'


def _sc(prior: dict, **sections) -> object:
    return scenario_from_dict(
        {
            "scenario": {"name": "p"},
            "trial": {"control_lbr": 0.5, "treatment_lbr": 0.7},
            "prior": prior,
            **sections,
        }
    )


def _file(tmp_path, body: str, name: str = "p.toml", head: str = HEAD):
    path = tmp_path / name
    path.write_text(head + body, encoding="utf-8")
    return path


PRIOR = "[prior]\ncontrol_lbr = { counts = [17, 49] }\ntreatment_lbr = { beta = [16, 4] }\n"
MIXTURE = (
    "[prior]\ndraws = 5000\n"
    "treatment_lbr = { beta = [16, 4] }\n"
    "[[prior.control_lbr.mixture]]\nweight = 0.7\ncounts = [17, 49]\n"
    "[[prior.control_lbr.mixture]]\nweight = 0.3\nbeta = [1, 1]\n"
)


# ----------------------------------------------------------------------------- valid forms
def test_counts_are_jeffreys_and_beta_is_as_given():
    sc = _sc({"control_lbr": {"counts": [17, 49]}, "treatment_lbr": {"beta": [16, 4]}})
    p = sc.prior
    assert isinstance(p, PriorParams) and p.draws == 20_000 and p.relative_risk_cap == 0.99
    assert p.control_lbr.to_prior() == BetaPrior(17.5, 32.5)
    assert p.control_lbr.describe() == "Beta(17.5, 32.5) (Jeffreys, 17 of 49)"
    assert p.effect_kind == "treatment_lbr" and p.effect.to_prior() == BetaPrior(16.0, 4.0)
    assert p.control_lbr.kind == "rate" and p.control_lbr.form == "counts"
    assert p.quantile_fits() == {}
    joint = p.joint()
    assert isinstance(joint, JointPrior) and joint.effect_kind == "treatment_lbr"


def test_quantiles_fit_is_reported():
    sc = _sc({"control_lbr": {"quantiles": [0.35, 0.49, 0.63]}, "ivig_odds_ratio": {"lognormal": [0.5, 0.3]}})
    prior, err = BetaPrior.from_quantiles(0.35, 0.49, 0.63)
    assert sc.prior.control_lbr.to_prior() == prior
    assert sc.prior.quantile_fits() == {"prior.control_lbr": err}
    text = sc.prior.control_lbr.describe()
    assert text.startswith(f"Beta({prior.a:.4g}, {prior.b:.4g}) fitted to quantiles 0.35/0.49/0.63")
    assert text.endswith(f"(largest quantile error {err:.2g})")
    assert sc.prior.effect.to_prior() == LogNormalPrior(0.5, 0.3)
    assert sc.prior.effect.describe() == "log-normal(0.5, 0.3)" and sc.prior.effect.kind == "ratio"


def test_relative_risk_uses_the_cap():
    sc = _sc(
        {
            "control_lbr": {"beta": [30, 20]},
            "ivig_relative_risk": {"lognormal": [0.223, 0.113]},
            "relative_risk_cap": 0.95,
        }
    )
    joint = sc.prior.joint()
    assert joint.effect_kind == "ivig_relative_risk" and joint.rr_cap == 0.95


def test_mixture_weights_and_components(tmp_path):
    sc = load_scenario(_file(tmp_path, MIXTURE))
    spec = sc.prior.control_lbr
    assert spec.form == "mixture" and spec.kind == "rate"
    mix = spec.to_prior()
    assert isinstance(mix, MixturePrior)
    assert mix.weights == (0.7, 0.3) and mix.components == (BetaPrior(17.5, 32.5), BetaPrior(1.0, 1.0))
    assert spec.describe() == "mixture of 2 Betas (weights 0.7, 0.3)"
    assert all(isinstance(c, PriorComponent) for c in spec.mixture)
    ratio = _sc(
        {
            "control_lbr": {"beta": [30, 20]},
            "ivig_odds_ratio": {"mixture": [{"weight": 1, "lognormal": [0.5, 0.2]}]},
        }
    ).prior.effect
    assert ratio.describe() == "mixture of 1 log-normal (weights 1)" and ratio.kind == "ratio"


def test_quantile_fits_name_mixture_components():
    p = PriorParams(
        control_lbr=PriorSpec(
            mixture=[
                PriorComponent(weight=1.0, beta=[2.0, 2.0]),
                PriorComponent(weight=1.0, quantiles=[0.3, 0.5, 0.7]),
            ]
        ),
        treatment_lbr=PriorSpec(quantiles=[0.6, 0.75, 0.85]),
    )
    fits = p.quantile_fits()
    assert set(fits) == {"prior.control_lbr.mixture[1]", "prior.treatment_lbr"}
    assert all(0 <= v < 0.02 for v in fits.values())


# ----------------------------------------------------------------------------- invalid
INVALID = {
    # name: ([prior] body, with the trial unless said, the one line's text after the file name)
    "two kinds": (
        "[prior]\ncontrol_lbr = { beta = [2, 3], counts = [1, 5] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr has both beta and counts; give exactly one of beta, counts, quantiles, "
        "lognormal, mixture.",
    ),
    "beta of three": (
        "[prior]\ncontrol_lbr = { beta = [2, 3, 4] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr.beta == [2, 3, 4], must be two numbers [a, b], each > 0.",
    ),
    "beta not positive": (
        "[prior]\ncontrol_lbr = { beta = [0, 3] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr.beta[0] == 0.0, must be > 0.",
    ),
    "counts x > n": (
        "[prior]\ncontrol_lbr = { counts = [12, 10] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr.counts == [12, 10], must have 0 <= x <= n and n >= 1 (x live births of n women).",
    ),
    "counts not integers": (
        "[prior]\ncontrol_lbr = { counts = [1.5, 10] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr.counts[0] == 1.5, must be an integer.",
    ),
    "decreasing quantiles": (
        "[prior]\ncontrol_lbr = { quantiles = [0.6, 0.5, 0.7] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr.quantiles == [0.6, 0.5, 0.7], must be strictly increasing [q05, q50, q95] "
        "(the 5%, 50% and 95% quantiles).",
    ),
    "lognormal on control": (
        "[prior]\ncontrol_lbr = { lognormal = [0, 0.3] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr is lognormal, must be a prior on a rate: beta, counts, quantiles, or a "
        "mixture of them (lognormal is for ivig_odds_ratio or ivig_relative_risk).",
    ),
    "beta on an odds ratio": (
        "[prior]\ncontrol_lbr = { beta = [2, 3] }\nivig_odds_ratio = { beta = [8, 2] }\n",
        "prior.ivig_odds_ratio is beta, must be lognormal = [mean_log, sd_log] (or a mixture of "
        "them): a prior on a ratio (for a prior on the IVIG rate itself, use treatment_lbr).",
    ),
    "sd_log not positive": (
        "[prior]\ncontrol_lbr = { beta = [2, 3] }\nivig_odds_ratio = { lognormal = [0.5, 0] }\n",
        "prior.ivig_odds_ratio.lognormal == [0.5, 0], its sd_log (the second number) must be > 0.",
    ),
    "two effect keys": (
        "[prior]\ncontrol_lbr = { beta = [2, 3] }\ntreatment_lbr = { beta = [8, 2] }\n"
        "ivig_relative_risk = { lognormal = [0.2, 0.1] }\n",
        "prior.treatment_lbr and prior.ivig_relative_risk are both given; give exactly one of "
        "treatment_lbr, ivig_odds_ratio, ivig_relative_risk (the prior on IVIG's effect).",
    ),
    "no effect key": (
        "[prior]\ncontrol_lbr = { beta = [2, 3] }\n",
        "prior.treatment_lbr is missing, and is required unless ivig_odds_ratio or ivig_relative_risk "
        "is given: give exactly one of the three (the prior on IVIG's effect).",
    ),
    "no kind": (
        "[prior]\ncontrol_lbr = {}\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr has none of beta, counts, quantiles, lognormal, mixture; give exactly one "
        "of beta, counts, quantiles, lognormal, mixture.",
    ),
    "weight outside a mixture": (
        "[prior]\ncontrol_lbr = { weight = 0.5, beta = [2, 3] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.control_lbr.weight == 0.5 is only allowed inside a mixture (a component's share); "
        "leave it out here, or give mixture = [{ weight = ..., ... }].",
    ),
    "mixed-kind mixture": (
        "[prior]\ntreatment_lbr = { beta = [8, 2] }\ncontrol_lbr = { mixture = [{ weight = 1, beta = "
        "[2, 3] }, { weight = 1, lognormal = [0, 1] }] }\n",
        "prior.control_lbr.mixture mixes Beta components (mixture[0]) and log-normal ones "
        "(mixture[1]); every component must be of one kind: all beta, counts or quantiles, or all "
        "lognormal.",
    ),
    "component without weight": (
        "[prior]\ntreatment_lbr = { beta = [8, 2] }\ncontrol_lbr = { mixture = [{ beta = [2, 3] }] }\n",
        "prior.control_lbr.mixture[0].weight is missing, and is required inside a mixture (number > 0: "
        "the component's share; weights are normalised).",
    ),
    "component with two kinds": (
        "[prior]\ntreatment_lbr = { beta = [8, 2] }\n"
        "control_lbr = { mixture = [{ weight = 1, beta = [2, 3], counts = [3, 9] }] }\n",
        "prior.control_lbr.mixture[0] has both beta and counts; give exactly one of beta, counts, "
        "quantiles, lognormal.",
    ),
    "nested mixture": (
        "[prior]\ntreatment_lbr = { beta = [8, 2] }\n"
        "control_lbr = { mixture = [{ weight = 1, mixture = [] }] }\n",
        "prior.control_lbr.mixture[0].mixture is not a known key; allowed here: weight, beta, "
        "counts, quantiles, lognormal.",
    ),
    "mixture of numbers": (
        "[prior]\ntreatment_lbr = { beta = [8, 2] }\ncontrol_lbr = { mixture = [0.5] }\n",
        "prior.control_lbr.mixture[0] == 0.5, must be a table ({ key = value, ... }).",
    ),
    "empty mixture": (
        "[prior]\ntreatment_lbr = { beta = [8, 2] }\ncontrol_lbr = { mixture = [] }\n",
        "prior.control_lbr.mixture has 0 items, must have at least 1.",
    ),
    "draws = 5": (
        "[prior]\ndraws = 5\ncontrol_lbr = { beta = [2, 3] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "prior.draws == 5, must be in [100, 10000000].",
    ),
    "no trial": (
        "[prior]\ncontrol_lbr = { beta = [2, 3] }\ntreatment_lbr = { beta = [8, 2] }\n",
        "[prior] gives priors on the trial's rates but the scenario has no [trial] section; add one "
        "(copy it from scenarios/trial_superiority.toml), or leave [prior] out.",
    ),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_prior_one_line_exit_2(name, tmp_path, capsys):
    body, line = INVALID[name]
    head = '[scenario]\nname = "p"\n' if name == "no trial" else HEAD
    path = _file(tmp_path, body, head=head)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert exc.value.problems == [f"{path}: {line}"]
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{path}: {line}"]


def test_validated_priors_never_fail_in_design():
    # every rule of JointPrior (kinds, cap) is a rule of the schema first
    for effect, spec in [
        ("treatment_lbr", {"quantiles": [0.6, 0.75, 0.85]}),
        ("ivig_odds_ratio", {"mixture": [{"weight": 2, "lognormal": [0.4, 0.3]}]}),
        ("ivig_relative_risk", {"lognormal": [0.2, 0.1]}),
    ]:
        joint = _sc(
            {"control_lbr": {"counts": [0, 1]}, effect: spec, "relative_risk_cap": 0.51}
        ).prior.joint()
        assert 0 <= joint.benefit_probability() <= 1


# ----------------------------------------------------------------------------- overrides
def test_set_overrides_draws_and_replaces_the_kind(tmp_path):
    path = _file(tmp_path, PRIOR)
    sc = load_scenario(path, ["prior.draws=5000", "prior.control_lbr.beta=[10,10]"])
    assert sc.prior.draws == 5000
    assert sc.prior.control_lbr == PriorSpec(beta=[10.0, 10.0])
    # a key of the same kind, and a table given whole, replace too
    sc = load_scenario(path, ["prior.control_lbr={ quantiles = [0.3, 0.5, 0.7] }"])
    assert sc.prior.control_lbr.form == "quantiles"
    sc = load_scenario(path, {"prior": {"control_lbr": {"mixture": [{"weight": 1, "beta": [2, 2]}]}}})
    assert sc.prior.control_lbr.form == "mixture" and sc.prior.control_lbr.counts is None


def test_set_problem_names_the_flag(tmp_path):
    path = _file(tmp_path, PRIOR)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, ["prior.control_lbr.beta=[1,2,3]"])
    assert exc.value.problems == [
        "--set prior.control_lbr.beta=[1,2,3]: prior.control_lbr.beta == [1, 2, 3], must be two "
        "numbers [a, b], each > 0."
    ]


def test_extends_replaces_the_kind(tmp_path):
    _file(
        tmp_path,
        PRIOR,
        "base.toml",
    )
    child = _file(
        tmp_path,
        "[prior]\ncontrol_lbr = { beta = [5, 5] }\n",
        "child.toml",
        head='extends = "base.toml"\n[scenario]\nname = "c"\n',
    )
    sc = load_scenario(child)
    assert sc.prior.control_lbr == PriorSpec(beta=[5.0, 5.0]) and sc.prior.treatment_lbr == PriorSpec(
        beta=[16.0, 4.0]
    )


def test_sweep_axes_over_prior_keys(tmp_path):
    body = (
        "replicates = 1000\n"
        + PRIOR
        + '[sweep]\ngrid = { "prior.draws" = [1000, 2000], "prior.relative_risk_cap" = [0.9, 0.95], '
        '"prior.control_lbr.beta" = [[10, 10], [20, 20]] }\n'
    )
    plan = plan_sweep(_file(tmp_path, body))
    assert len(plan.points) == 8
    got = {(p.scenario.prior.draws, p.scenario.prior.relative_risk_cap) for p in plan.points}
    assert got == {(1000, 0.9), (1000, 0.95), (2000, 0.9), (2000, 0.95)}
    specs = {tuple(p.scenario.prior.control_lbr.beta) for p in plan.points}
    assert specs == {(10.0, 10.0), (20.0, 20.0)}
    assert all(p.scenario.prior.control_lbr.counts is None for p in plan.points)
    assert len({p.key for p in plan.points}) == 8 and len({p.digest for p in plan.points}) == 8
    # the same from the command line
    cli = plan_sweep(
        _file(
            tmp_path,
            "replicates = 1000\n" + PRIOR,
            "c.toml",
        ),
        grid={"prior.control_lbr.beta": [[10, 10], [20, 20]]},
    )
    assert [p.scenario.prior.control_lbr.beta for p in cli.points] == [[10.0, 10.0], [20.0, 20.0]]


def test_sweep_rejects_a_repeated_list_value(tmp_path):
    body = PRIOR + '[sweep]\ngrid = { "prior.control_lbr.beta" = [[10, 10], [10, 10]] }\n'
    with pytest.raises(ScenarioError) as exc:
        load_scenario(_file(tmp_path, body))
    assert exc.value.problems == [
        f'{tmp_path / "p.toml"}: sweep.grid."prior.control_lbr.beta" lists [10, 10] twice; '
        "give each value once."
    ]


# ----------------------------------------------------------------------------- TOML, digest, docs
def test_mixture_round_trips_through_toml(tmp_path):
    sc = load_scenario(_file(tmp_path, MIXTURE))
    text = dumps_toml(sc.to_dict())
    assert "mixture = [{ weight = 0.7, counts = [17, 49] }, { weight = 0.3, beta = [1.0, 1.0] }]" in text
    again = load_scenario(write_scenario(sc, tmp_path / "scenario.toml"))
    assert again == sc and again.digest() == sc.digest()


def test_digest_is_stable_across_int_and_float_forms():
    a = _sc({"control_lbr": {"beta": [10, 10]}, "ivig_odds_ratio": {"lognormal": [0, 1]}})
    b = _sc({"control_lbr": {"beta": [10.0, 10.0]}, "ivig_odds_ratio": {"lognormal": [0.0, 1.0]}})
    built = a.replace(
        prior=PriorParams(control_lbr=PriorSpec(beta=[10, 10]), ivig_odds_ratio=PriorSpec(lognormal=[0, 1]))
    )
    assert a.digest() == b.digest() == built.digest()
    assert (
        a.digest()
        != _sc({"control_lbr": {"beta": [10, 11]}, "ivig_odds_ratio": {"lognormal": [0, 1]}}).digest()
    )
    assert a.to_dict()["prior"]["control_lbr"] == {"beta": [10.0, 10.0]}


def test_schema_and_docs_know_the_section():
    paths = {
        p.path: p
        for p in iter_params(type(_sc({"control_lbr": {"beta": [1, 1]}, "treatment_lbr": {"beta": [1, 1]}})))
    }
    assert paths["prior.control_lbr"].required and paths["prior.draws"].default == 20_000
    assert paths["prior.control_lbr.mixture"].type == "list of tables or absent"
    assert paths["prior.control_lbr.mixture[].weight"].lo == 0
    assert "ASSUMPTION" in paths["prior.relative_risk_cap"].source
    text = scenario_docs()
    assert "## `[prior]`" in text and "#### `[[prior.control_lbr.mixture]]`" in text
    assert "are those of [`[prior.control_lbr]`](#priorcontrol_lbr)" in text


def test_describe_numbers_are_short():
    assert PriorSpec(beta=[159.5, 38.5]).describe() == "Beta(159.5, 38.5)"
    assert PriorSpec(beta=[1 / 3, 2]).describe() == "Beta(0.3333, 2)"
    assert math.isclose(PriorSpec(lognormal=[0.223, 0.113]).to_prior().mean, math.exp(0.223 + 0.113**2 / 2))


def test_overrides_switch_the_effect_kind_and_reach_the_alternatives():
    from rplsim import load_scenario

    sc = load_scenario("scenarios/assurance.toml", ["prior.treatment_lbr.beta=[8, 2]"])
    assert sc.prior.effect_kind == "treatment_lbr" and sc.prior.ivig_relative_risk is None
    sc = load_scenario("scenarios/assurance.toml", ["prior.alternatives.sceptical.control_lbr.beta=[10, 10]"])
    alt = sc.prior.alternatives["sceptical"]
    assert alt.control_lbr.beta == [10.0, 10.0] and alt.control_lbr.quantiles is None
