"""Random streams: one checker and keyed child streams.

Randomness is passed in, never global. Every stage derives its streams from the run's root
:class:`numpy.random.SeedSequence` by a *key* (stage name, block or patient index), not by the
order in which streams were asked for, so a patient's or a replicate's numbers do not change
with the batch size, the number of workers or which other stages ran first.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

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
    >>> bool(check_random_state(1).integers(10) == check_random_state(1).integers(10))
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

    An int seed is its own entropy; an unspawned ``SeedSequence`` gives its entropy; a
    spawned one (non-empty ``spawn_key``) gives 128 bits of its own state, so its spawn key
    is kept and sibling children derive different streams; a ``Generator`` is asked for one
    63-bit integer (so its state advances once); ``None`` draws fresh entropy.

    Parameters
    ----------
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None

    Returns
    -------
    int
        A non-negative integer, the entropy of every ``child_seed`` of the run.

    Raises
    ------
    TypeError
        If ``seed`` is a negative int or none of the accepted types.

    Examples
    --------
    >>> root_entropy(5) == root_entropy(np.random.SeedSequence(5)) == 5
    True
    >>> a, b = np.random.SeedSequence(5).spawn(2)
    >>> root_entropy(a) != root_entropy(b)
    True
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise TypeError(f"seed == {seed}, must be a non-negative integer.")
        return int(seed)
    if isinstance(seed, np.random.SeedSequence):
        if seed.spawn_key:
            # The pool mixes entropy and spawn key; unspawned sequences keep their plain
            # entropy below so that shipped results stay byte-identical.
            words = seed.generate_state(4, np.uint32)
            return int.from_bytes(words.astype("<u4").tobytes(), "little")
        return _entropy_int(seed.entropy)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if seed is None:
        return _entropy_int(np.random.SeedSequence().entropy)
    raise TypeError(
        f"seed == {seed!r} ({type(seed).__name__}), must be an int, a numpy Generator, "
        "a SeedSequence or None."
    )


def _entropy_int(entropy: int | Sequence[int] | None) -> int:
    """A SeedSequence's entropy as one int (a sequence of words is read little-endian, 32 bits each)."""
    if entropy is None:
        return 0
    if isinstance(entropy, (int, np.integer)):
        return int(entropy)
    return sum(int(w) << (32 * i) for i, w in enumerate(entropy))


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
