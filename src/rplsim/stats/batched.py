"""Vectorised analyses of a simulated two-arm trial, batched over replicates.

Every function takes one value per replicate (arrays of shape ``(R,)``, or ``(R, S)`` for
strata, ``(R, n, p)`` for patient-level designs) and returns arrays of shape ``(R,)``, so a
power run analyses thousands of simulated trials in one call, with no Python loop over
replicates.

Conventions
-----------
* Arm 1 is treatment (IVIG), arm 0 is control; a *success* is a live birth.
* ``x_t`` live births out of ``n_t`` treated women, ``x_c`` out of ``n_c`` controls; ``n`` may be
  a scalar or vary by replicate (drop-out).
* ``alternative`` is ``"two-sided"``, ``"larger"`` (live-birth rate larger with treatment) or
  ``"smaller"``.

The statistics reproduce the library references (tested in ``tests/test_analysis.py``):
``scipy.stats.chi2_contingency(correction=False)`` and ``statsmodels proportions_ztest`` for the
pooled z test, ``statsmodels test_proportions_2indep(method="score", correction=False)`` for the
Farrington-Manning non-inferiority test, ``scipy.stats.fisher_exact``,
``statsmodels StratifiedTable.test_null_odds(correction=False)`` and ``statsmodels Logit``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from rplsim.exceptions import ScenarioError

__all__ = [
    "Alternative",
    "cmh_test_counts",
    "fisher_exact_counts",
    "logistic_wald_batched",
    "reject",
    "wald_p",
    "z_test_counts",
]

Alternative = Literal["two-sided", "larger", "smaller"]
_ALTERNATIVES = ("two-sided", "larger", "smaller")

# Relative tolerance for "as or less probable than the observed table" in the two-sided Fisher
# test. R's fisher.test uses 1e-7; scipy >= 1.13 uses 1e-14, tighter than the ~1e-13 rounding
# of our log-gamma probabilities, which would miss exact ties (e.g. equal arms).
_FISHER_RELTOL = 1e-7
# Cap on the number of cells of the (unique tables x support) work array in the Fisher test.
_FISHER_MAX_CELLS = 2**21
# Replicates per block in the logistic fit: bounds memory at ~block * n * p * 8 bytes per copy.
_LOGIT_BLOCK = 4096
# Smallest eigenvalue of the information matrix, relative to its largest, for a usable fit.
_LOGIT_MIN_REL_EIG = 1e-13


def _check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ScenarioError(f"alternative == {alternative!r}, must be one of {_ALTERNATIVES}.")


def _check_counts(
    x_t: ArrayLike, n_t: ArrayLike, x_c: ArrayLike, n_c: ArrayLike, *, dtype: type = np.float64
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Broadcast the four count arrays and check that each arm has 0 <= x <= n."""
    arrays = np.broadcast_arrays(*(np.asarray(a) for a in (x_t, n_t, x_c, n_c)))
    names = ("x_t", "n_t", "x_c", "n_c")
    out = []
    for name, a in zip(names, arrays, strict=True):
        if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            raise ScenarioError(f"{name} has dtype {a.dtype}, must be integer counts.")
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a) & (a == np.round(a))):
            raise ScenarioError(f"{name} has non-integer or non-finite values, must be counts.")
        out.append(a.astype(dtype, copy=False))
    xt, nt, xc, nc = out
    for x, n, arm in ((xt, nt, "t"), (xc, nc, "c")):
        bad = (x < 0) | (x > n)
        if np.any(bad):
            i = np.flatnonzero(bad.ravel())[0]
            raise ScenarioError(
                f"x_{arm} == {x.ravel()[i]:g} with n_{arm} == {n.ravel()[i]:g} (flat index {i}), "
                "must satisfy 0 <= x <= n."
            )
    return xt, nt, xc, nc


def wald_p(z: ArrayLike, alternative: Alternative = "two-sided") -> NDArray[np.float64]:
    """P-value of a standard-normal test statistic.

    Parameters
    ----------
    z : array_like
        Test statistics, positive when treatment does better than control.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"`` is H1: treatment effect > 0, so ``p = P(Z >= z)``.

    Returns
    -------
    numpy.ndarray
        P-values, same shape as ``z``; NaN where ``z`` is NaN (a failed fit), which
        :func:`reject` treats as not significant.

    Raises
    ------
    ScenarioError
        If ``alternative`` is not one of the three above.

    Examples
    --------
    >>> float(wald_p(1.959963984540054, "two-sided")).__round__(6)
    0.05
    >>> float(wald_p(0.0, "larger"))
    0.5
    """
    _check_alternative(alternative)
    z = np.asarray(z, dtype=np.float64)
    if alternative == "larger":
        return special.ndtr(-z)
    if alternative == "smaller":
        return special.ndtr(z)
    return np.minimum(2.0 * special.ndtr(-np.abs(z)), 1.0)


def reject(p: ArrayLike, alpha: ArrayLike) -> NDArray[np.bool_]:
    """Whether each test rejects H0: ``p <= alpha`` (NaN p-values never reject).

    Parameters
    ----------
    p : array_like
        P-values.
    alpha : float or array_like
        Significance level(s), each in (0, 0.5]; broadcast against ``p``.

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    ScenarioError
        If any ``alpha`` is outside (0, 0.5].

    Examples
    --------
    >>> reject([0.01, 0.05, 0.2, float("nan")], 0.05).tolist()
    [True, True, False, False]
    """
    a = np.asarray(alpha, dtype=np.float64)
    bad = ~((a > 0) & (a <= 0.5))
    if np.any(bad):
        raise ScenarioError(f"alpha == {a[bad].ravel()[0]}, must be in (0, 0.5].")
    return np.asarray(p, dtype=np.float64) <= a


def z_test_counts(
    x_t: ArrayLike,
    n_t: ArrayLike,
    x_c: ArrayLike,
    n_c: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    margin: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-proportion z test of the live-birth rates, one test per replicate.

    With ``margin == 0`` this is the pooled z test, ``z = (p_t - p_c) / sqrt(p (1 - p)
    (1/n_t + 1/n_c))`` with ``p`` the pooled rate; its two-sided p-value equals that of
    Pearson's chi-square without continuity correction. With ``margin > 0`` it is the
    Farrington-Manning score test of non-inferiority, H0: ``p_t - p_c <= -margin`` against
    H1: ``p_t - p_c > -margin``, with the variance taken at the rates that maximise the
    likelihood under ``p_t - p_c = -margin`` (closed-form cubic root, Farrington & Manning
    1990, Stat Med 9:1447).

    Parameters
    ----------
    x_t, n_t, x_c, n_c : array_like of int
        Live births and women analysed in the treatment and control arms; broadcast
        together, so ``n_t`` and ``n_c`` may be scalars or vary by replicate.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: treatment rate larger than control. Must be ``"larger"`` when
        ``margin > 0``.
    margin : float
        Non-inferiority margin on the risk-difference scale, in [0, 1).

    Returns
    -------
    z : numpy.ndarray
        Test statistics, positive when treatment does better.
    p : numpy.ndarray
        P-values. Tables with no usable variance (an empty arm, or all women in both arms
        with the same outcome when ``margin == 0``) get ``z = 0`` and ``p = 1``.

    Raises
    ------
    ScenarioError
        If counts are negative or exceed ``n``, ``margin`` is outside [0, 1), or
        ``margin > 0`` with an alternative other than ``"larger"``.

    Examples
    --------
    >>> z, p = z_test_counts([60, 50], 100, [50, 50], 100, alternative="larger")
    >>> z.round(4).tolist(), p.round(4).tolist()
    ([1.4213, 0.0], [0.0776, 0.5])
    >>> z, p = z_test_counts(55, 100, 60, 100, alternative="larger", margin=0.15)
    >>> round(float(p), 4)
    0.0741
    """
    _check_alternative(alternative)
    if not 0.0 <= margin < 1.0:
        raise ScenarioError(f"margin == {margin}, must be in [0, 1).")
    if margin > 0 and alternative != "larger":
        raise ScenarioError(
            f"alternative == {alternative!r} with margin == {margin}, must be 'larger': "
            "the non-inferiority test is one-sided."
        )
    xt, nt, xc, nc = _check_counts(x_t, n_t, x_c, n_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        pt = xt / nt
        pc = xc / nc
        if margin == 0:
            pooled = (xt + xc) / (nt + nc)
            var = pooled * (1.0 - pooled) * (1.0 / nt + 1.0 / nc)
            diff = pt - pc
        else:
            pt0, pc0 = _fm_restricted_rates(pt, nt, pc, nc, -margin)
            var = pt0 * (1.0 - pt0) / nt + pc0 * (1.0 - pc0) / nc
            diff = pt - pc + margin
        ok = (nt > 0) & (nc > 0) & (var > 0)
        z = np.where(ok, diff / np.sqrt(np.where(ok, var, 1.0)), 0.0)
    p = np.where(ok, wald_p(z, alternative), 1.0)
    return z, p


def _fm_restricted_rates(
    pt: NDArray, nt: NDArray, pc: NDArray, nc: NDArray, delta: float
) -> tuple[NDArray, NDArray]:
    """Rates maximising the likelihood under ``p_t - p_c = delta`` (Farrington & Manning, s.2).

    The constrained MLE of ``p_t`` is the middle root of a cubic, taken in the trigonometric
    form the paper gives; the other two roots fall outside [0, 1].
    """
    theta = nc / nt
    a = 1.0 + theta
    b = -(1.0 + theta + pt + theta * pc + delta * (theta + 2.0))
    c = delta**2 + delta * (2.0 * pt + theta + 1.0) + pt + theta * pc
    d = -pt * delta * (1.0 + delta)
    v = b**3 / (3.0 * a) ** 3 - b * c / (6.0 * a**2) + d / (2.0 * a)
    u = np.where(v >= 0, 1.0, -1.0) * np.sqrt(np.maximum(b**2 / (3.0 * a) ** 2 - c / (3.0 * a), 0))
    cos_arg = np.clip(np.where(u != 0, v / np.where(u != 0, u, 1.0) ** 3, 0.0), -1.0, 1.0)
    w = (np.pi + np.arccos(cos_arg)) / 3.0
    pt0 = 2.0 * u * np.cos(w) - b / (3.0 * a)
    pt0 = np.clip(pt0, max(0.0, delta), min(1.0, 1.0 + delta))
    return pt0, pt0 - delta


def fisher_exact_counts(
    x_t: ArrayLike,
    n_t: ArrayLike,
    x_c: ArrayLike,
    n_c: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
) -> NDArray[np.float64]:
    """Fisher's exact test of the live-birth rates, one test per replicate.

    Conditional on both margins, ``x_t`` is hypergeometric under H0. The one-sided p-values
    are its tails; the two-sided p-value sums the probabilities of all tables no more
    probable than the observed one (relative tolerance ``1e-7``, as R's ``fisher.test``).
    Each distinct table is computed once, with the whole null distribution in one array
    operation, so the cost grows with the number of distinct tables, not of replicates.

    Parameters
    ----------
    x_t, n_t, x_c, n_c : array_like of int
        Live births and women analysed per arm; broadcast together.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: treatment rate larger (scipy's ``"greater"`` for the table
        ``[[x_t, n_t - x_t], [x_c, n_c - x_c]]``), ``"smaller"``: scipy's ``"less"``.

    Returns
    -------
    numpy.ndarray
        P-values; 1 when a margin is zero (empty arm, or no or only successes).

    Raises
    ------
    ScenarioError
        If counts are negative, non-integer or exceed ``n``.

    Examples
    --------
    >>> fisher_exact_counts([8, 5], 10, [3, 5], 10).round(4).tolist()
    [0.0698, 1.0]
    >>> fisher_exact_counts(8, 10, 3, 10, alternative="larger").round(4).tolist()
    0.0349
    """
    _check_alternative(alternative)
    xt, nt, xc, nc = _check_counts(x_t, n_t, x_c, n_c, dtype=np.int64)
    shape = xt.shape
    rows = np.stack([a.ravel() for a in (xt, nt, xt + xc, nt + nc)], axis=1)
    if rows.shape[0] == 0:
        return np.ones(shape)
    uniq, inverse = _unique_rows(rows)
    p_uniq = np.empty(uniq.shape[0])
    # Support of x_t: max(0, n_t - (N - K)) .. min(K, n_t).
    lo = np.maximum(0, uniq[:, 1] - (uniq[:, 3] - uniq[:, 2]))
    hi = np.minimum(uniq[:, 2], uniq[:, 1])
    width = hi - lo + 1
    log_fact = special.gammaln(np.arange(int(uniq[:, 3].max()) + 1) + 1.0)
    order = np.argsort(width, kind="stable")
    w_sorted = width[order]
    start = 0
    while start < order.size:
        # Blocks of rows sorted by support width: the widest (last) row sets the padded
        # block size, kept under _FISHER_MAX_CELLS.
        stops = np.arange(start + 1, order.size + 1)
        cost = (stops - start) * w_sorted[stops - 1]
        stop = int(stops[max(0, int(np.searchsorted(cost, _FISHER_MAX_CELLS, side="right")) - 1)])
        idx = order[start:stop]
        p_uniq[idx] = _fisher_block(uniq[idx], lo[idx], hi[idx], alternative, log_fact)
        start = stop
    return p_uniq[inverse].reshape(shape)


def _unique_rows(rows: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Distinct rows and the inverse map; a 1-D integer key when it fits, as it sorts faster."""
    span = rows.max(axis=0).astype(np.float64) + 1.0
    if np.prod(span) < 2.0**62:
        key = np.zeros(rows.shape[0], dtype=np.int64)
        for j in range(rows.shape[1]):
            key = key * int(span[j]) + rows[:, j]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return rows[first], inverse.ravel()
    uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
    return uniq, inverse.ravel()


def _fisher_block(
    tables: NDArray[np.int64],
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
    alternative: str,
    log_fact: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Exact p-values for a block of distinct tables ``(x_t, n_t, K, N)``.

    ``log_fact[m]`` is ``log(m!)`` for ``m`` up to the largest ``N``.
    """
    x, n1, k_succ, n_all = (tables[:, j : j + 1] for j in range(4))
    kk = lo[:, None] + np.arange(int((hi - lo).max()) + 1)[None, :]
    valid = kk <= hi[:, None]
    kk = np.where(valid, kk, lo[:, None])
    # Log hypergeometric weights up to a per-table constant, normalised below by their sum;
    # dropping the constant avoids the cancellation of log C(N, n_t).
    logw = -(log_fact[kk] + log_fact[k_succ - kk] + log_fact[n1 - kk] + log_fact[n_all - k_succ - n1 + kk])
    logw = np.where(valid, logw, -np.inf)
    logw_max = logw.max(axis=1, keepdims=True)
    w = np.exp(logw - logw_max)
    total = w.sum(axis=1)
    if alternative == "larger":
        keep = kk >= x
    elif alternative == "smaller":
        keep = kk <= x
    else:
        i_obs = x[:, 0] - lo
        log_obs = logw[np.arange(logw.shape[0]), i_obs][:, None]
        keep = logw <= log_obs + np.log1p(_FISHER_RELTOL)
    p = np.where(keep & valid, w, 0.0).sum(axis=1) / total
    return np.minimum(p, 1.0)


def cmh_test_counts(
    x_t: ArrayLike,
    n_t: ArrayLike,
    x_c: ArrayLike,
    n_c: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cochran-Mantel-Haenszel test of a common odds ratio of 1 across strata.

    Without continuity correction, as ``statsmodels`` ``StratifiedTable.test_null_odds(
    correction=False)``. The two-sided statistic is the chi-square on 1 df,
    ``(sum(x_t - E))**2 / sum(Var)`` with the hypergeometric mean and variance of ``x_t`` in
    each stratum; one-sided alternatives use its signed root ``z = sum(x_t - E) /
    sqrt(sum(Var))``.

    Parameters
    ----------
    x_t, n_t, x_c, n_c : array_like of int, shape (R, S)
        Live births and women per arm in each of S strata; broadcast together.
        Strata with fewer than 2 women contribute nothing.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: common odds ratio of a live birth with treatment above 1.

    Returns
    -------
    statistic : numpy.ndarray, shape (R,)
        Chi-square statistic when two-sided, signed z otherwise.
    p : numpy.ndarray, shape (R,)
        P-values; ``statistic = 0``, ``p = 1`` when no stratum carries information.

    Raises
    ------
    ScenarioError
        If the arrays are not two-dimensional or the counts are invalid.

    Examples
    --------
    >>> stat, p = cmh_test_counts([[10, 20]], [[20, 30]], [[5, 12]], [[20, 30]])
    >>> round(float(stat[0]), 4), round(float(p[0]), 4)
    (6.814, 0.009)
    """
    _check_alternative(alternative)
    xt, nt, xc, nc = _check_counts(x_t, n_t, x_c, n_c)
    if xt.ndim != 2:
        raise ScenarioError(f"counts have shape {xt.shape}, must be (R, S): replicates by strata.")
    n_all = nt + nc
    succ = xt + xc
    used = n_all >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(used, xt - nt * succ / n_all, 0.0)
        var = np.where(used, nt * nc * succ * (n_all - succ) / (n_all**2 * (n_all - 1.0)), 0.0)
    dev_sum = dev.sum(axis=1)
    var_sum = var.sum(axis=1)
    ok = var_sum > 0
    z = np.where(ok, dev_sum / np.sqrt(np.where(ok, var_sum, 1.0)), 0.0)
    p = np.where(ok, wald_p(z, alternative), 1.0)
    # The chi-square(1) tail of z**2 is the two-sided normal tail of z, and ndtr is ~50x
    # faster than chdtrc.
    return (z**2 if alternative == "two-sided" else z), p


def logistic_wald_batched(
    X: ArrayLike,
    y: ArrayLike,
    *,
    treat_col: int = 1,
    mask: ArrayLike | None = None,
    max_iter: int = 25,
    tol: float = 1e-8,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Maximum-likelihood logistic regressions, one per replicate, fitted all at once.

    Newton-Raphson (equivalently IRLS) on every replicate at the same time; the Wald
    standard error comes from the inverse information at the estimate, as
    ``statsmodels.api.Logit(...).fit().bse``. A replicate whose likelihood has no finite
    maximum (complete or quasi-complete separation: e.g. every treated woman has a live
    birth) does not converge; it is reported with ``converged = False`` and NaN estimate,
    so ``wald_p`` gives NaN and :func:`reject` does not reject.

    Parameters
    ----------
    X : array_like, shape (R, n, p)
        Design matrices, with an intercept column and the treatment indicator at
        ``treat_col``.
    y : array_like of {0, 1}, shape (R, n)
        Live birth (1) or not (0).
    treat_col : int
        Column of ``X`` holding the treatment indicator.
    mask : array_like of bool, shape (R, n), optional
        True for women to leave out (drop-outs), as in :mod:`numpy.ma`; the fit equals the
        fit to the remaining women only. Their ``X`` and ``y`` may hold any value.
    max_iter : int
        Newton steps allowed.
    tol : float
        Convergence when the largest absolute change of any coefficient is below ``tol``.

    Returns
    -------
    beta_treat : numpy.ndarray, shape (R,)
        Log odds ratio of a live birth, treatment vs control (NaN if not converged).
    se_treat : numpy.ndarray, shape (R,)
        Its Wald standard error (NaN if not converged).
    converged : numpy.ndarray of bool, shape (R,)

    Raises
    ------
    ScenarioError
        If the shapes disagree, ``y`` is not 0/1, or ``treat_col``, ``max_iter`` or ``tol``
        is out of range.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> arm = rng.integers(0, 2, size=(3, 200))
    >>> X = np.stack([np.ones((3, 200)), arm], axis=-1)
    >>> y = (rng.random((3, 200)) < 0.4 + 0.2 * arm).astype(int)
    >>> beta, se, ok = logistic_wald_batched(X, y)
    >>> ok.tolist()
    [True, True, True]
    >>> p = wald_p(beta / se, "larger")
    """
    Xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(y)
    if Xa.ndim != 3:
        raise ScenarioError(f"X has shape {Xa.shape}, must be (R, n, p).")
    n_rep, n_obs, n_par = Xa.shape
    if ya.shape != (n_rep, n_obs):
        raise ScenarioError(f"y has shape {ya.shape}, must be {(n_rep, n_obs)} to match X.")
    if not 0 <= treat_col < n_par:
        raise ScenarioError(f"treat_col == {treat_col}, must be in [0, {n_par}).")
    if max_iter < 1:
        raise ScenarioError(f"max_iter == {max_iter}, must be >= 1.")
    if not tol > 0:
        raise ScenarioError(f"tol == {tol}, must be > 0.")
    keep = np.ones((n_rep, n_obs), dtype=bool)
    if mask is not None:
        ma = np.asarray(mask)
        if ma.shape != (n_rep, n_obs) or ma.dtype != np.bool_:
            raise ScenarioError(
                f"mask has shape {ma.shape} and dtype {ma.dtype}, must be bool {(n_rep, n_obs)}."
            )
        keep = ~ma
    ya = np.where(keep, ya, 0)
    if np.any((ya != 0) & (ya != 1)):
        raise ScenarioError("y has values other than 0 and 1, must be live birth (1) or not (0).")
    if mask is not None:
        Xa = np.where(keep[..., None], Xa, 0.0)
    if not np.all(np.isfinite(Xa)):
        raise ScenarioError("X contains NaN or inf (outside masked rows), must be finite.")
    yf = ya.astype(np.float64)
    wts = keep.astype(np.float64)

    beta = np.full(n_rep, np.nan)
    se = np.full(n_rep, np.nan)
    conv = np.zeros(n_rep, dtype=bool)
    for s in range(0, n_rep, _LOGIT_BLOCK):
        blk = slice(s, min(s + _LOGIT_BLOCK, n_rep))
        beta[blk], se[blk], conv[blk] = _newton_block(Xa[blk], yf[blk], wts[blk], treat_col, max_iter, tol)
    return beta, se, conv


def _newton_block(
    X: NDArray, y: NDArray, wts: NDArray, treat_col: int, max_iter: int, tol: float
) -> tuple[NDArray, NDArray, NDArray]:
    """Newton-Raphson on one block of replicates; returns (beta_treat, se_treat, converged)."""
    n_rep, _, n_par = X.shape
    coef = np.zeros((n_rep, n_par))
    done = np.zeros(n_rep, dtype=bool)
    failed = np.zeros(n_rep, dtype=bool)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            active = ~(done | failed)
            if not active.any():
                break
            info, grad = _info_grad(X, y, wts, coef)
            # Converged and failed replicates get an identity system and a zero step.
            info[~active] = np.eye(n_par)
            grad[~active] = 0.0
            try:
                step = np.linalg.solve(info, grad[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step, singular = _eig_solve(info, grad)
                failed |= singular & active
                step[failed] = 0.0
            coef += step
            failed |= active & ~np.all(np.isfinite(coef), axis=1)
            coef[failed] = 0.0
            done |= active & ~failed & (np.max(np.abs(step), axis=1) <= tol)
        info, _ = _info_grad(X, y, wts, coef)
        eigval, eigvec = np.linalg.eigh(info)
        well_posed = eigval[:, 0] > _LOGIT_MIN_REL_EIG * np.abs(eigval[:, -1])
        ok = done & well_posed
        var_treat = np.sum(eigvec[:, treat_col, :] ** 2 / eigval, axis=1)
        ok &= np.isfinite(var_treat) & (var_treat > 0)
    beta = np.where(ok, coef[:, treat_col], np.nan)
    se = np.where(ok, np.sqrt(np.where(ok, var_treat, 1.0)), np.nan)
    return beta, se, ok


def _info_grad(X: NDArray, y: NDArray, wts: NDArray, coef: NDArray) -> tuple[NDArray, NDArray]:
    """Fisher information ``X' W X`` and score ``X' (y - mu)`` of each replicate."""
    eta = np.einsum("rnp,rp->rn", X, coef)
    mu = special.expit(eta)
    info = np.einsum("rni,rn,rnj->rij", X, wts * mu * (1.0 - mu), X, optimize=True)
    grad = np.einsum("rnp,rn->rp", X, wts * (y - mu))
    return info, grad


def _eig_solve(info: NDArray, grad: NDArray) -> tuple[NDArray, NDArray]:
    """Solve ``info @ step = grad`` by eigen-decomposition, flagging singular systems."""
    eigval, eigvec = np.linalg.eigh(info)
    singular = ~(eigval[:, 0] > _LOGIT_MIN_REL_EIG * np.abs(eigval[:, -1]))
    safe = np.where(singular[:, None], 1.0, eigval)
    step = np.einsum("rij,rj->ri", eigvec, np.einsum("rji,rj->ri", eigvec, grad) / safe)
    return np.where(singular[:, None], 0.0, step), singular
