"""Random streams: root entropy of every kind of seed, keyed child streams."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from rplsim import generate_cohort
from rplsim._core.rng import check_random_state, child_generator, child_seed, root_entropy

# sha256 of generate_cohort(paper, 300, seed=...).to_csv(index=False) before the spawn key was
# kept (rplsim at c6ed0cd): int seeds and unspawned SeedSequences must not move. Re-taken on
# the deliberate model change of issue 14 (logit-normal percentages, rounding at generation).
# Taken on the paper's BMI as it was then, on Table 1's ranges (the fixture `paper_table1_bmi`):
# issue 18 moved the BMI law's support to 12-60 kg/m2, a model change, not a change of the
# streams. SHIPPED pins the shipped scenario's cohort for seed 5 since that change.
BEFORE = {
    5: "b8ca93289ec01878dbd872029434c9df10c5e8282a0f321bf97a9c7d4fcfd270",
    2**70 + 3: "1f9b542f8eceade130587b9353af885f3b41f88324b8b5d64e514417b0999b14",
}


def _digest(df) -> str:
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()


SHIPPED = "1e92bde113512d080b4459cba16a4892809c0c38e1c3c1009758ca7f571b0b1e"


@pytest.fixture
def paper_table1_bmi(paper):
    """The paper's scenario with BMI on Table 1's ranges (KN 14.5-39.3, KA 16-36.1, IN 16.7-33.6,
    IA 16.7-33.2), as when the digests were taken."""
    ranges = {"KN": (14.5, 39.3), "KA": (16.0, 36.1), "IN": (16.7, 33.6), "IA": (16.7, 33.2)}
    bmi = paper.cohort.bmi
    table1 = dataclasses.replace(
        bmi, **{s: dataclasses.replace(getattr(bmi, s), min=lo, max=hi) for s, (lo, hi) in ranges.items()}
    )
    return dataclasses.replace(paper, cohort=dataclasses.replace(paper.cohort, bmi=table1))


@pytest.mark.parametrize("seed", sorted(BEFORE))
def test_int_seeds_give_the_same_cohort_as_before(paper_table1_bmi, seed):
    assert _digest(generate_cohort(paper_table1_bmi, 300, seed=seed)) == BEFORE[seed]


def test_an_unspawned_seed_sequence_is_its_entropy(paper_table1_bmi):
    assert root_entropy(np.random.SeedSequence(5)) == 5
    assert _digest(generate_cohort(paper_table1_bmi, 300, seed=np.random.SeedSequence(5))) == BEFORE[5]


def test_the_shipped_scenario_gives_the_same_cohort_as_before(paper):
    assert _digest(generate_cohort(paper, 300, seed=5)) == SHIPPED


def test_spawned_children_give_different_cohorts(paper):
    a, b = np.random.SeedSequence(5).spawn(2)
    assert root_entropy(a) != root_entropy(b)
    ca, cb = generate_cohort(paper, 200, seed=a), generate_cohort(paper, 200, seed=b)
    assert not ca.equals(cb)
    assert not ca.equals(generate_cohort(paper, 200, seed=5))
    # ... and each child is reproducible from an equal SeedSequence.
    again = np.random.SeedSequence(5, spawn_key=a.spawn_key)
    assert ca.equals(generate_cohort(paper, 200, seed=again))


def test_grandchildren_differ_from_each_other_and_from_their_parent():
    (child,) = np.random.SeedSequence(9).spawn(1)
    g1, g2 = child.spawn(2)
    assert len({root_entropy(child), root_entropy(g1), root_entropy(g2), 9}) == 4


def test_entropy_sequences_and_fresh_entropy_are_integers():
    assert root_entropy(np.random.SeedSequence([1, 2])) == 1 + (2 << 32)
    assert isinstance(root_entropy(None), int)
    assert root_entropy(np.random.default_rng(3)) == root_entropy(np.random.default_rng(3))


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True, np.random.RandomState(1)])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(TypeError):
        root_entropy(bad)


def test_child_streams_depend_on_the_key_not_the_order():
    a = child_generator(7, "cohort", 1).random(4)
    child_generator(7, "cohort", 0).random(4)
    assert np.array_equal(a, child_generator(7, "cohort", 1).random(4))
    assert not np.array_equal(a, child_generator(7, "timeline", 1).random(4))
    assert child_seed(7, "cohort", 1).spawn_key == child_seed(7, "cohort", 1).spawn_key


def test_check_random_state():
    g = np.random.default_rng(0)
    assert check_random_state(g) is g
    assert check_random_state(4).integers(100) == check_random_state(4).integers(100)
    with pytest.raises(TypeError):
        check_random_state(-3)
