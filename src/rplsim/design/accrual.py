"""Multi-centre recruitment: the time to randomise N women (issue 17 groundwork).

The Poisson-gamma recruitment model of Anisimov & Fedorov (2007): centre ``c`` opens at
``a_c`` and then sees women as a Poisson process of rate ``lambda_c``, the rates varying between
centres as Gamma with mean ``mu`` and coefficient of variation ``cv`` (``cv = 0``: every centre at
``mu``). Each woman seen is randomised with probability ``q`` (the screening funnel), after a delay
drawn from an exponential law with mean ``delay`` (consent to the confirmed pregnancy). Times are
in years.

**Closed form** (every centre open at 0, no delay): the randomisations form a Poisson process of
rate ``q Lambda``, ``Lambda = sum_c lambda_c ~ Gamma(C / cv^2, scale mu cv^2)``, so the time of the
N-th is ``T | Lambda ~ Gamma(N, rate q Lambda)``: ``T q mu cv^2`` is beta-prime ``(N, C / cv^2)``
(a ratio of independent gammas), and ``T ~ Gamma(N, rate q C mu)`` when ``cv = 0``
(:func:`time_to_randomise`). **Otherwise** by simulation, vectorised over trials
(:func:`simulate_time_to_randomise`): each centre's randomised women are a Poisson number on its
open window, uniform on it (conditional uniformity), each shifted by its delay; the N-th smallest
time is the answer, exact while it falls inside the window simulated (else the trial's arrivals
on the next window, twice as long, are added to those it has: independent increments).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from rplsim.exceptions import InvalidArgumentError

__all__ = [
    "Accrual",
    "arrival_source",
    "exponential_gaps",
    "opening_times",
    "simulate_randomisation_times",
    "simulate_time_to_randomise",
    "time_to_randomise",
]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Accrual:
    """A multi-centre recruitment model (see the module doc).

    Attributes
    ----------
    centres : int
        Recruiting centres.
    rate : float
        Mean women seen per centre per year (``mu``).
    cv : float
        Coefficient of variation of the centre rates (0: all equal).
    share : float
        Share of women seen who are randomised (``q``), in (0, 1].
    activation : float
        Years over which the centres open, evenly: centre ``c`` (of ``C``) at
        ``activation (c - 1) / (C - 1)`` (:func:`opening_times`).
    delay : float
        Mean years from consent to randomisation (exponential; 0: none).

    Examples
    --------
    >>> a = Accrual(centres=4, rate=70.5, cv=0.0, share=0.113)
    >>> round(a.randomised_per_year, 2)
    31.87
    """

    centres: int
    rate: float
    cv: float
    share: float
    activation: float = 0.0
    delay: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.centres, bool) or not isinstance(self.centres, int) or self.centres < 1:
            raise InvalidArgumentError(f"centres == {self.centres!r}, must be an integer >= 1.")
        for name, value, low in (("rate", self.rate, 0.0), ("share", self.share, 0.0)):
            if not (math.isfinite(value) and value > low):
                raise InvalidArgumentError(f"{name} == {value!r}, must be > {low:g}.")
        if self.share > 1:
            raise InvalidArgumentError(f"share == {self.share!r}, must be at most 1.")
        for name, value in (("cv", self.cv), ("activation", self.activation), ("delay", self.delay)):
            if not (math.isfinite(value) and value >= 0):
                raise InvalidArgumentError(f"{name} == {value!r}, must be >= 0.")

    @property
    def randomised_per_year(self) -> float:
        """Mean randomisations per year once every centre is open: ``C mu q``."""
        return self.centres * self.rate * self.share

    @property
    def closed_form(self) -> bool:
        """Whether :func:`time_to_randomise` applies (all open at 0, no delay)."""
        return self.activation == 0 and self.delay == 0


def opening_times(centres: int, activation: float) -> Array:
    """When each centre opens: evenly over ``[0, activation]``, the first at 0, the last at the end.

    Examples
    --------
    >>> opening_times(3, 1.0).tolist(), opening_times(1, 1.0).tolist()
    ([0.0, 0.5, 1.0], [0.0])
    """
    if centres == 1:
        return np.zeros(1)
    return np.linspace(0.0, activation, centres)


def _centre_rates(
    accrual: Accrual, size: tuple[int, ...], rng: np.random.Generator, *, seen: bool = False
) -> Array:
    """Randomisable women per centre-year: Gamma rates around the mean (or the mean), times q
    (``seen``: the women seen, not thinned by q)."""
    if accrual.cv > 0:
        shape = 1.0 / accrual.cv**2
        rates: Array = rng.gamma(shape, accrual.rate / shape, size=size)
    else:
        rates = np.full(size, accrual.rate)
    return rates if seen else rates * accrual.share


def exponential_gaps(u: Array, rate: float) -> Array:
    """Gaps between Poisson arrivals of ``rate`` per unit time, from uniforms (inversion): the
    timeline's clinic draws its women's arrivals this way from their own keyed uniforms.

    Examples
    --------
    >>> exponential_gaps(np.array([0.5]), 2.0).round(4).tolist()
    [0.3466]
    """
    out: Array = -np.log1p(-np.asarray(u, float)) / rate
    return out


def arrival_source(
    env: Any,
    gaps: Iterable[float],
    arrive: Callable[[int], object],
    *,
    opens: float = 0.0,
    closed: Callable[[], bool] | None = None,
) -> Generator[Any]:
    """The SimPy arrival process of the recruitment model: women arrive, one by one.

    The one source of women the discrete-event engines share: the timeline's clinic (its
    ``[clinic] accrual_per_year``, one gap a woman from her keyed uniform) and each centre of
    the trial on the calendar (its Gamma rate, gaps drawn as it goes). The process waits until
    the centre ``opens``, then for each gap in turn, and calls ``arrive(i)`` for the ``i``-th
    woman (which starts her own process); it ends when the gaps do or ``closed()`` turns true.

    Examples
    --------
    >>> import simpy
    >>> env, seen = simpy.Environment(), []
    >>> _ = env.process(arrival_source(env, [1.0, 2.0], lambda i: seen.append((i, env.now)), opens=0.5))
    >>> env.run()
    >>> seen
    [(0, 1.5), (1, 3.5)]
    """
    if opens > 0:
        yield env.timeout(opens)
    for i, gap in enumerate(gaps):
        yield env.timeout(gap)
        if closed is not None and closed():
            return
        arrive(i)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidArgumentError(f"n == {n!r}, must be an integer >= 1 (women to randomise).")
    return int(n)


def time_to_randomise(accrual: Accrual, n: int) -> stats.rv_continuous:
    """The distribution of the time (years) to randomise ``n`` women, in closed form.

    Returns a frozen scipy distribution (``cdf``, ``ppf``, ``mean`` ...).

    Raises
    ------
    InvalidArgumentError
        If the centres do not all open at 0 or there is a delay (simulate instead).

    Examples
    --------
    >>> a = Accrual(centres=1, rate=70.5, cv=0.0, share=0.1133)
    >>> round(float(time_to_randomise(a, 166).median()), 1)  # about 166 / 7.99 a year
    20.7
    """
    n = _check_n(n)
    if not accrual.closed_form:
        raise InvalidArgumentError(
            "time_to_randomise is the closed form without activation or delay; use "
            "simulate_time_to_randomise."
        )
    q, mu, c = accrual.share, accrual.rate, accrual.centres
    if accrual.cv == 0:
        return stats.gamma(a=n, scale=1.0 / (q * c * mu))
    shape = c / accrual.cv**2
    return stats.betaprime(a=n, b=shape, scale=1.0 / (q * mu * accrual.cv**2))


def simulate_time_to_randomise(accrual: Accrual, n: int, replicates: int, rng: np.random.Generator) -> Array:
    """Simulated times (years) to randomise ``n`` women, one per trial (see the module doc).

    Examples
    --------
    >>> a = Accrual(centres=10, rate=70.5, cv=0.5, share=0.1133, activation=1.0, delay=0.5)
    >>> t = simulate_time_to_randomise(a, 166, 2000, np.random.default_rng(1))
    >>> t.shape, bool(t.min() > 0)
    ((2000,), True)
    """
    return simulate_randomisation_times(accrual, n, replicates, rng)[:, -1]


def simulate_randomisation_times(
    accrual: Accrual, n: int, replicates: int, rng: np.random.Generator
) -> Array:
    """The first ``n`` randomisation times (years) of each simulated trial, in order: (R, n).

    Each trial's centres keep their rates; a trial with fewer than ``n`` randomisations inside
    the window simulated gets its centres' arrivals on the next window, ``(h, 2h]``, added to the
    ones it has (independent increments), so the ``n``-th time is exact whatever the window.

    Examples
    --------
    >>> a = Accrual(centres=3, rate=70.5, cv=0.0, share=0.1133)
    >>> t = simulate_randomisation_times(a, 50, 100, np.random.default_rng(1))
    >>> t.shape, bool((t[:, 1:] >= t[:, :-1]).all())
    ((100, 50), True)
    """
    n = _check_n(n)
    r = int(replicates)
    if r < 1:
        raise InvalidArgumentError(f"replicates == {replicates!r}, must be >= 1.")
    c = accrual.centres
    rates = _centre_rates(accrual, (r, c), rng)
    opens = opening_times(c, accrual.activation)
    # a window that holds n randomisations in most trials (the rest go on into the next): the
    # mean time at full rate and a half, plus the opening and the delay
    mean = n / accrual.randomised_per_year
    horizon = 1.5 * mean * (1.0 + accrual.cv) + accrual.activation + 3.0 * accrual.delay
    out = np.full((r, n), np.nan)
    todo = np.arange(r)
    drawn_to = 0.0  # every todo trial's arrivals up to here are in (held_rep, held_t)
    held_rep, held_t = np.zeros(0, np.int64), np.zeros(0)
    while todo.size:
        rep, times = _arrivals(rates[todo], opens, accrual.delay, drawn_to, horizon, rng)
        rep = np.concatenate([held_rep, todo[rep]])
        times = np.concatenate([held_t, times])
        # by trial, then time: one sort of the trials' times shifted apart (the key orders; the
        # times themselves are taken as drawn)
        span = float(times.max()) + 1.0 if times.size else 1.0
        order = np.argsort(rep * span + times)
        rep, times = rep[order], times[order]
        count = np.bincount(rep, minlength=r)
        first = np.cumsum(count) - count
        cand = todo[count[todo] >= n]
        nth = times[first[cand] + n - 1]
        done = cand[nth <= horizon]  # no later arrival of this window can come before its n-th
        out[done] = times[first[done][:, None] + np.arange(n)[None, :]]
        todo = np.setdiff1d(todo, done)
        keep = np.isin(rep, todo)
        held_rep, held_t = rep[keep], times[keep]
        drawn_to, horizon = horizon, 2.0 * horizon
        if horizon > 1e7:  # a bound: the rates are far too low for n
            raise InvalidArgumentError(f"recruitment of {n} women would take over 10 million years.")
    return out


def _arrivals(
    rates: Array, opens: Array, delay: float, start: float, end: float, rng: np.random.Generator
) -> tuple[NDArray[np.int64], Array]:
    """Each trial's randomisations from arrivals on ``(start, end]`` (a centre from its opening):
    the trial (row of ``rates``) and the time of each, its delay included (so possibly after
    ``end``)."""
    r, c = rates.shape
    lo = np.maximum(opens, start)
    window = np.maximum(end - lo, 0.0)[None, :]
    counts = rng.poisson(rates * window)
    total = counts.sum(axis=1)
    rep = np.repeat(np.arange(r), total)
    begin = np.repeat(np.broadcast_to(lo, (r, c)).ravel(), counts.ravel())
    width = np.repeat(np.broadcast_to(window, (r, c)).ravel(), counts.ravel())
    times = begin + rng.random(rep.size) * width
    if delay > 0:
        times = times + rng.exponential(delay, rep.size)
    return rep, times
