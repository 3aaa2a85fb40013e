"""Exact power and type-I error of a group-sequential count-path trial without dropout.

The count path of :func:`rplsim.simulate_power` enrols women in randomisation order and looks
after ``sizes[0] < sizes[1] < ... < sizes[K-1]`` of them; at look ``j`` it analyses every
enrolled woman (no dropout here) and stops at the first look whose p-value is ``<= thresholds[j]``
(the nominal levels of the boundary). The process is Markov in ``(T, x_t, x_c)``: the treated
count ``T`` of the women enrolled so far and the live births per arm. This module carries the
sub-probability of the trials still running over that lattice from look to look, as gsDesign's
``toBinomialExact`` does for one binomial arm (and Jennison & Turnbull 2000, ch. 12, for two):

    P_{j+1}(T', ., .) = sum_T q(T' | T) * A_t P_j(T, ., .) A_c'   (births of the new women)

with ``q`` the randomisation's transition (permuted blocks: the rest of the current block, whole
blocks, the start of the next one; simple randomisation: binomial) and ``A`` binomial
convolution matrices, then removes the tables where the registered analysis rejects, adding them
to power ("in favour of treatment", the simulation's rule) and rejection. Nothing is truncated:
the values are exact up to floating-point rounding (``max_error`` 0).

With dropout the state would also carry the analysed women per arm (four dimensions); such
designs are left to simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from rplsim._core.validation import check_choice, check_integer
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.design.exact import check_rate
from rplsim.design.exact_counts import MAX_EXACT_CELLS, _p_sign, split_rejections
from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.pvalues import Alternative, favour_p
from rplsim.stats.registry import get_analysis

__all__ = ["ExactSequential", "exact_sequential_counts", "treated_transition"]

_Array = NDArray[np.float64]


@dataclass(frozen=True)
class ExactSequential:
    """Exact operating characteristics of a group-sequential count-path trial (no dropout).

    Attributes
    ----------
    power : float
        P(the trial stops for a rejection in favour of treatment) at ``(p_control, p_treatment)``.
    rejection : float
        P(the trial stops for any rejection) at the same rates.
    type1_error : float
        P(any rejection) with the treated arm at ``p_null``.
    stop_probability, stop_probability_null : tuple of float
        P(stopping for a rejection at look j), under the rates and under the null.
    futility_probability, futility_probability_null : tuple of float
        P(stopping for futility at look j), under the rates and under the null (zeros without
        futility).
    expected_women, expected_women_null : float
        Expected women enrolled when the trial stops (a trial that never rejects enrols all).
    sizes : tuple of int
        Women enrolled at each look.
    cells : int
        Tables evaluated by the analysis.
    max_error : float
        0: nothing is truncated (floating-point rounding only).
    """

    power: float
    rejection: float
    type1_error: float
    stop_probability: tuple[float, ...]
    stop_probability_null: tuple[float, ...]
    expected_women: float
    expected_women_null: float
    p_control: float
    p_treatment: float
    p_null: float
    n_control: int
    n_treatment: int
    sizes: tuple[int, ...]
    thresholds: tuple[float, ...]
    analysis: str
    alternative: str
    margin: float
    block_size: int
    cells: int
    max_error: float = 0.0
    futility_probability: tuple[float, ...] = ()
    futility_probability_null: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The fields as a flat dict."""
        return asdict(self)


def treated_transition(
    s_from: int, t_from: int, s_to: int, ratio: float, block_size: int
) -> NDArray[np.float64]:
    """P(T(s_to) = t_from + i), i = 0..s_to - s_from, given T(s_from) = t_from.

    ``T(s)`` is the treated count among the first ``s`` randomised women, as
    :func:`rplsim.trial.arm_assignment` draws them: permuted blocks of ``block_size`` with
    ``round(block_size * ratio / (1 + ratio))`` treated each, or (``block_size <= 0``) simple
    randomisation with P(treated) = ``ratio / (1 + ratio)``.

    Examples
    --------
    >>> treated_transition(2, 1, 4, 1.0, 4).round(3)  # a block of 4 half filled, 1 of 2 treated
    array([0., 1., 0.])
    """
    d = s_to - s_from
    p_t = ratio / (1 + ratio)
    if block_size <= 0:
        return np.asarray(stats.binom.pmf(np.arange(d + 1), d, p_t), dtype=float)
    per_block = round(block_size * p_t)
    pos = s_from % block_size
    left_t = per_block - (t_from - (s_from // block_size) * per_block)  # treated left in the block
    first = min(d, block_size - pos)  # the rest of the current block (a whole one when pos == 0)
    out = stats.hypergeom.pmf(np.arange(first + 1), block_size - pos, left_t, first)
    full, rest = divmod(d - first, block_size)
    if rest:
        out = np.convolve(out, stats.hypergeom.pmf(np.arange(rest + 1), block_size, per_block, rest))
    shifted = np.zeros(d + 1)
    shift = full * per_block
    shifted[shift : shift + out.size] = out[: d + 1 - shift]
    return shifted


def _birth_matrix(m_from: int, inc: int, p: float) -> _Array:
    """(m_from + inc + 1, m_from + 1): x' = x + Binomial(inc, p)."""
    b = stats.binom.pmf(np.arange(inc + 1), inc, p)
    a = np.zeros((m_from + inc + 1, m_from + 1))
    for x in range(m_from + 1):
        a[x : x + inc + 1, x] = b
    return a


def exact_sequential_counts(
    p_control: float,
    p_treatment: float,
    n_control: int,
    n_treatment: int,
    sizes: Sequence[int],
    thresholds: Sequence[float],
    *,
    analysis: str = "chi2",
    alternative: str = "two-sided",
    margin: float | None = None,
    block_size: int = 0,
    p_null: float | None = None,
    futility: Sequence[float] | None = None,
) -> ExactSequential:
    """Exact power, type-I error and stopping probabilities of a group-sequential count trial.

    Parameters
    ----------
    p_control, p_treatment : float
        Live-birth rates per arm, in (0, 1).
    n_control, n_treatment : int
        Planned randomised women per arm; the randomisation's ratio is
        ``n_treatment / n_control``, as :func:`rplsim.simulate_power` randomises.
    sizes : sequence of int
        Women enrolled at each look, increasing, the last ``n_control + n_treatment``.
    thresholds : sequence of float
        Nominal p-value level of each look (the trial stops at ``p <= thresholds[j]``).
    analysis : str, default "chi2"
        A registered count analysis (chi2, fisher, cmh in one stratum).
    alternative : {"two-sided", "larger", "smaller"}
    margin : float, optional
        Non-inferiority margin.
    block_size : int, default 0
        Permuted blocks; 0 for simple randomisation.
    p_null : float, optional
        The treated rate of ``type1_error``; default ``p_control - margin``.
    futility : sequence of float, optional
        Per look, the one-sided p in favour of treatment (:func:`rplsim.stats.pvalues.favour_p`)
        at or above which a trial not rejected stops for futility (``inf``: never), as
        :func:`rplsim.trial.formulas.futility_levels` gives them. At such a look a two-sided test
        rejects only in favour of treatment (a trial going against it stops for futility), as
        :func:`rplsim.simulate_power` decides.

    Returns
    -------
    ExactSequential

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        For arguments out of range, a patient-path analysis, or more than
        :data:`rplsim.design.exact_counts.MAX_EXACT_CELLS` tables.

    Examples
    --------
    >>> res = exact_sequential_counts(
    ...     0.65, 0.807, 140, 140, [94, 187, 280], [0.0005, 0.014, 0.045], block_size=4
    ... )
    >>> 0.0 < res.type1_error < res.power < 1.0
    True
    """
    check_rate("p_control", p_control)
    check_rate("p_treatment", p_treatment)
    n_c = check_integer("n_control", n_control, 1, error=InvalidArgumentError)
    n_t = check_integer("n_treatment", n_treatment, 1, error=InvalidArgumentError)
    check_choice("alternative", alternative, ALTERNATIVES)
    looks = [int(s) for s in sizes]
    levels = [float(a) for a in thresholds]
    if len(looks) != len(levels) or not looks:
        raise InvalidArgumentError(
            f"sizes and thresholds must have the same positive length (got {len(looks)} and {len(levels)})."
        )
    if any(b <= a for a, b in zip([0, *looks], looks, strict=False)) or looks[-1] != n_c + n_t:
        raise InvalidArgumentError(
            f"sizes == {looks}: must increase from above 0 to n_control + n_treatment == {n_c + n_t}."
        )
    if any(not 0.0 <= a < 1.0 for a in levels):
        raise InvalidArgumentError(f"thresholds == {levels}: each must be in [0, 1).")
    fut_levels = [float("inf")] * len(looks) if futility is None else [float(f) for f in futility]
    if len(fut_levels) != len(looks):
        raise InvalidArgumentError(f"futility == {fut_levels}: one level per look ({len(looks)}).")
    spec = get_analysis(analysis)
    if spec.path != "counts":
        raise InvalidArgumentError(
            f'analysis == "{analysis}" reads each woman\'s covariates: exact power is for the count path.'
        )
    mg = float(margin or 0.0)
    p_0 = (p_control - mg) if p_null is None else float(p_null)
    check_rate("p_null", p_0)
    ratio = n_t / n_c
    # The work: every (treated count before, treated count after) pair of a look moves a
    # lattice of about (s/2)^2 tables. Permuted blocks keep both counts within a block of their
    # mean; simple randomisation lets them take every value (a slow design to enumerate).
    work = 0
    for s_prev, s in zip([0, *looks], looks, strict=False):
        before = 1 if s_prev == 0 else (s_prev + 1 if block_size <= 0 else block_size + 1)
        after = s - s_prev + 1 if block_size <= 0 else block_size + 1
        work += before * after * (s // 2 + 1) ** 2
    if work > MAX_EXACT_CELLS:
        raise InvalidArgumentError(
            f"exact sequential power would move about {work:,} tables (limit {MAX_EXACT_CELLS:,}"
            f"{'; simple randomisation' if block_size <= 0 else ''}): use simulate_power for "
            "this design."
        )
    alt: Alternative = alternative  # type: ignore[assignment]  # checked above
    rates = ((p_control, p_treatment), (p_control, p_0))
    # One lattice per treated count, for each of the two rate pairs: {T: P[x_t, x_c]}.
    states: list[dict[int, _Array]] = [{0: np.ones((1, 1))}, {0: np.ones((1, 1))}]
    good = [0.0, 0.0]
    anyrej = [0.0, 0.0]
    stops: list[list[float]] = [[], []]
    futile: list[list[float]] = [[], []]
    evaluated = 0
    s_prev = 0
    for s, level, fut_level in zip(looks, levels, fut_levels, strict=True):
        inc = s - s_prev
        moved: list[dict[int, _Array]] = [{}, {}]
        for t_prev in states[0]:
            q = treated_transition(s_prev, t_prev, s, ratio, block_size)
            for i in np.flatnonzero(q > 0).tolist():
                t_new = t_prev + i
                for h, (pc, pt) in enumerate(rates):
                    a_t = _birth_matrix(t_prev, i, pt)
                    a_c = _birth_matrix(s_prev - t_prev, inc - i, pc)
                    add = q[i] * (a_t @ states[h][t_prev] @ a_c.T)
                    moved[h][t_new] = moved[h][t_new] + add if t_new in moved[h] else add
        stop_here = [0.0, 0.0]
        fut_here = [0.0, 0.0]
        for t_new in sorted(moved[0]):
            shape = moved[0][t_new].shape  # (T + 1, s - T + 1)
            x_t, x_c = np.indices(shape).reshape(2, -1)
            p, sign = _p_sign(
                spec.function, alt, mg, x_c.astype(np.int64),
                np.full(x_t.size, s - t_new, np.int64), x_t.astype(np.int64),
                np.full(x_t.size, t_new, np.int64),
            )  # fmt: skip
            upper, lower = split_rejections(p, sign, alternative, level)
            if np.isfinite(fut_level) and alternative == "two-sided":
                lower = np.zeros_like(lower)  # against treatment at an interim: futility, not a rejection
            evaluated += x_t.size
            rej = (upper | lower).reshape(shape)
            fav = (upper if alternative == "two-sided" else upper | lower).reshape(shape)
            stop_fut = (favour_p(p, sign, alternative) >= fut_level).reshape(shape) & ~rej
            for h in (0, 1):
                lattice = moved[h][t_new]
                good[h] += float(lattice[fav].sum())
                stop_here[h] += float(lattice[rej].sum())
                lattice[rej] = 0.0
                if np.isfinite(fut_level):
                    fut_here[h] += float(lattice[stop_fut].sum())
                    lattice[stop_fut] = 0.0
        for h in (0, 1):
            anyrej[h] += stop_here[h]
            stops[h].append(stop_here[h])
            futile[h].append(fut_here[h])
        states = moved
        s_prev = s
    expected = [
        float(
            sum((p + f) * sz for p, f, sz in zip(stops[h], futile[h], looks, strict=True))
            + (1.0 - anyrej[h] - sum(futile[h])) * looks[-1]
        )
        for h in (0, 1)
    ]
    return ExactSequential(
        power=min(1.0, good[0]),
        rejection=min(1.0, anyrej[0]),
        type1_error=min(1.0, anyrej[1]),
        stop_probability=tuple(stops[0]),
        stop_probability_null=tuple(stops[1]),
        expected_women=expected[0],
        expected_women_null=expected[1],
        p_control=float(p_control),
        p_treatment=float(p_treatment),
        p_null=p_0,
        n_control=n_c,
        n_treatment=n_t,
        sizes=tuple(looks),
        thresholds=tuple(levels),
        analysis=analysis,
        alternative=alternative,
        margin=mg,
        block_size=int(block_size),
        cells=evaluated,
        futility_probability=tuple(futile[0]),
        futility_probability_null=tuple(futile[1]),
    )
