"""Tests of rplsim.design.exact: the exact power of Fisher's test against brute force."""

from __future__ import annotations

import pytest
from scipy import stats

from rplsim.design.exact import check_rate, exact_power
from rplsim.exceptions import InvalidArgumentError


def _brute_force_fisher_power(
    pc: float, pt: float, n1: int, n2: int, alpha: float, alternative: str
) -> float:
    """Enumerate all tables and call scipy.stats.fisher_exact on each."""
    sp_alt = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
    total = 0.0
    for x in range(n1 + 1):
        for y in range(n2 + 1):
            # Rows: treatment, control; "greater" = treatment odds larger.
            p = stats.fisher_exact([[y, n2 - y], [x, n1 - x]], alternative=sp_alt).pvalue
            if p <= alpha:
                total += stats.binom.pmf(x, n1, pc) * stats.binom.pmf(y, n2, pt)
    return total


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
@pytest.mark.parametrize(("n1", "n2", "pc", "pt"), [(8, 11, 0.3, 0.7), (12, 12, 0.5, 0.2)])
def test_exact_power_matches_brute_force(alternative: str, n1: int, n2: int, pc: float, pt: float) -> None:
    ours = exact_power(pc, pt, n1, n2, alpha=0.1, alternative=alternative)
    assert ours == pytest.approx(_brute_force_fisher_power(pc, pt, n1, n2, 0.1, alternative), abs=1e-12)


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1, "0.5", float("nan")])
def test_check_rate_refuses_values_outside_the_open_unit_interval(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="must be in \\(0, 1\\)"):
        check_rate("p_control", value)  # type: ignore[arg-type]
