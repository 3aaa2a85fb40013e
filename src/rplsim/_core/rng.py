"""Random streams: one checker and keyed child streams.

Randomness is passed in, never global. Every stage derives its streams from the run's root
:class:`numpy.random.SeedSequence` by a *key* (stage name, block or patient index), not by the
order in which streams were asked for, so a patient's or a replicate's numbers do not change
with the batch size, the number of workers or which other stages ran first.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["check_random_state", "child_generator", "child_seed", "root_entropy", "stage_key"]

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


def check_random_state(seed: SeedLike) -> np.random.Generator:
    """Turn ``seed`` into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        ``None`` gives fresh OS entropy; an int or ``SeedSequence`` a reproducible PCG64
        generator; a ``Generator`` is returned as is (its state is shared, not copied).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        If ``seed`` is none of the above (a float, a legacy ``RandomState``, ...).

    Examples
    --------
    >>> check_random_state(1).integers(10) == check_random_state(1).integers(10)
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise TypeError(f"seed == {seed}, must be a non-negative integer.")
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"seed == {seed!r} ({type(seed).__name__}), must be an int, a numpy Generator, "
        "a SeedSequence or None."
    )


def root_entropy(seed: SeedLike) -> int:
    """Return an integer entropy from which keyed child streams are derived.

    An int seed is its own entropy; a ``SeedSequence`` gives its entropy; a ``Generator`` is
    asked for one 63-bit integer (so its state advances once); ``None`` draws fresh entropy.
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise TypeError(f"seed == {seed}, must be a non-negative integer.")
        return int(seed)
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        return int(ent) if ent is not None else 0
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    raise TypeError(
        f"seed == {seed!r} ({type(seed).__name__}), must be an int, a numpy Generator, "
        "a SeedSequence or None."
    )


def stage_key(name: str) -> int:
    """A stable 32-bit integer for a stage name (CRC32), used as the first spawn-key element."""
    return zlib.crc32(name.encode("utf-8"))


def child_seed(entropy: int, stage: str, *key: int) -> np.random.SeedSequence:
    """The seed sequence of stream ``(stage, *key)`` under root ``entropy``.

    The same arguments always give the same stream, whatever else was spawned before.
    """
    return np.random.SeedSequence(entropy, spawn_key=(stage_key(stage), *map(int, key)))


def child_generator(entropy: int, stage: str, *key: int) -> np.random.Generator:
    """A PCG64 :class:`~numpy.random.Generator` on stream ``(stage, *key)``."""
    return np.random.Generator(np.random.PCG64(child_seed(entropy, stage, *key)))
