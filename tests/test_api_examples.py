"""Every public function and class of ``rplsim`` shows a numpydoc Examples section that runs.

The examples themselves are checked by ``--doctest-modules`` (pyproject); these tests check that
each top-level name has one, and that at least one of its example lines is not skipped.
"""

from __future__ import annotations

import doctest
import inspect
import itertools

import rplsim


def public_callables() -> list[str]:
    """The functions and classes of ``rplsim.__all__``, without exceptions and constants."""
    out = []
    for name in rplsim.__all__:
        obj = getattr(rplsim, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue
        out.append(name)
    return out


def has_examples(obj: object) -> bool:
    """Whether the docstring has a numpydoc ``Examples`` heading (underlined)."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    return any(a.strip() == "Examples" and set(b.strip()) == {"-"} for a, b in itertools.pairwise(lines))


def runs_an_example(obj: object) -> bool:
    """Whether at least one ``>>>`` line of the docstring, other than an import, is not skipped."""
    parsed = doctest.DocTestParser().get_examples(inspect.getdoc(obj) or "")
    return any(
        not ex.options.get(doctest.SKIP, False) and not ex.source.startswith(("import ", "from "))
        for ex in parsed
    )


def test_public_callables_are_the_expected_kind():
    names = public_callables()
    assert "simulate_power" in names and "PowerResult" in names
    assert "ScenarioError" not in names and "STRATA" not in names and "__version__" not in names
    # Most of the public API is callable; a filter that dropped everything would pass the tests below.
    assert len(names) >= 30


def test_helpers_detect_a_missing_or_skipped_example():
    def undocumented():
        """No example.

        Returns
        -------
        None
        """

    def only_skipped():
        """Skipped.

        Examples
        --------
        >>> import math
        >>> math.floor(2.5)  # doctest: +SKIP
        2
        """

    def mentions_examples():
        """See the Examples of another function."""

    assert not has_examples(undocumented) and not has_examples(mentions_examples)
    assert has_examples(only_skipped) and not runs_an_example(only_skipped)
    assert has_examples(rplsim.sample_size) and runs_an_example(rplsim.sample_size)


def test_every_public_callable_has_examples():
    missing = [name for name in public_callables() if not has_examples(getattr(rplsim, name))]
    assert not missing, f"no numpydoc 'Examples' section in the docstring of: {', '.join(missing)}"


def test_every_public_example_runs_at_least_one_line():
    skipped = [
        name
        for name in public_callables()
        if has_examples(getattr(rplsim, name)) and not runs_an_example(getattr(rplsim, name))
    ]
    assert not skipped, f"every example line is '# doctest: +SKIP' in: {', '.join(skipped)}"
