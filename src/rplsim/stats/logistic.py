"""Maximum-likelihood logistic regressions (Wald test of treatment), batched over replicates."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from rplsim.exceptions import InvalidArgumentError

__all__ = ["logistic_wald_batched"]

# Replicates per block in the logistic fit: bounds memory at ~block * n * p * 8 bytes per copy.
_LOGIT_BLOCK = 4096
# Smallest eigenvalue of the information matrix, relative to its largest, for a usable fit.
_LOGIT_MIN_REL_EIG = 1e-13


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
    InvalidArgumentError
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
    >>> from rplsim.stats import wald_p
    >>> p = wald_p(beta / se, "larger")
    """
    Xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(y)
    if Xa.ndim != 3:
        raise InvalidArgumentError(f"X has shape {Xa.shape}, must be (R, n, p).")
    n_rep, n_obs, n_par = Xa.shape
    if ya.shape != (n_rep, n_obs):
        raise InvalidArgumentError(f"y has shape {ya.shape}, must be {(n_rep, n_obs)} to match X.")
    if not 0 <= treat_col < n_par:
        raise InvalidArgumentError(f"treat_col == {treat_col}, must be in [0, {n_par}).")
    if max_iter < 1:
        raise InvalidArgumentError(f"max_iter == {max_iter}, must be >= 1.")
    if not tol > 0:
        raise InvalidArgumentError(f"tol == {tol}, must be > 0.")
    keep = np.ones((n_rep, n_obs), dtype=bool)
    if mask is not None:
        ma = np.asarray(mask)
        if ma.shape != (n_rep, n_obs) or ma.dtype != np.bool_:
            raise InvalidArgumentError(
                f"mask has shape {ma.shape} and dtype {ma.dtype}, must be bool {(n_rep, n_obs)}."
            )
        keep = ~ma
    ya = np.where(keep, ya, 0)
    if np.any((ya != 0) & (ya != 1)):
        raise InvalidArgumentError("y has values other than 0 and 1, must be live birth (1) or not (0).")
    if mask is not None:
        Xa = np.where(keep[..., None], Xa, 0.0)
    if not np.all(np.isfinite(Xa)):
        raise InvalidArgumentError("X contains NaN or inf (outside masked rows), must be finite.")
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
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    wts: NDArray[np.float64],
    treat_col: int,
    max_iter: int,
    tol: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
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


def _info_grad(
    X: NDArray[np.float64], y: NDArray[np.float64], wts: NDArray[np.float64], coef: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fisher information ``X' W X`` and score ``X' (y - mu)`` of each replicate."""
    eta = np.einsum("rnp,rp->rn", X, coef)
    mu = special.expit(eta)
    info = np.einsum("rni,rn,rnj->rij", X, wts * mu * (1.0 - mu), X, optimize=True)
    grad = np.einsum("rnp,rn->rp", X, wts * (y - mu))
    return info, grad


def _eig_solve(
    info: NDArray[np.float64], grad: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Solve ``info @ step = grad`` by eigen-decomposition, flagging singular systems."""
    eigval, eigvec = np.linalg.eigh(info)
    singular = ~(eigval[:, 0] > _LOGIT_MIN_REL_EIG * np.abs(eigval[:, -1]))
    safe = np.where(singular[:, None], 1.0, eigval)
    step = np.einsum("rij,rj->ri", eigvec, np.einsum("rji,rj->ri", eigvec, grad) / safe)
    return np.where(singular[:, None], 0.0, step), singular
