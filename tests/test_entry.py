"""The console script's entry (rplsim._entry) and the lazy flat API of rplsim/__init__.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rplsim
from rplsim import _entry

from .conftest import SCENARIOS

SRC = Path(rplsim.__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


def test_every_public_name_is_importable_and_listed() -> None:
    namespace: dict[str, object] = {}
    exec("from rplsim import *", namespace)  # the star import itself is the subject
    assert set(rplsim.__all__) <= set(namespace)
    assert all(getattr(rplsim, name) is namespace[name] for name in rplsim.__all__)
    assert set(rplsim.__all__) <= set(dir(rplsim))
    assert rplsim.simulate_power is rplsim.trial.power.simulate_power
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        rplsim.no_such_name  # noqa: B018


def test_import_rplsim_loads_none_of_the_scientific_stack() -> None:
    """Issue 20: the CLI's first instant must not wait for numpy (a Ctrl-C there was a traceback)."""
    code = "import sys, rplsim, rplsim._entry; print(sorted({'numpy', 'pandas', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_entry_main_runs_the_cli_and_answers_an_early_interrupt(monkeypatch, capsys) -> None:
    assert _entry.main(["--version"]) == 0
    import rplsim.app.cli

    def interrupted(argv=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(rplsim.app.cli, "main", interrupted)
    assert _entry.main(["validate", "x.toml"]) == 130
    assert capsys.readouterr().err == "rplsim: interrupted; nothing was written.\n"


def _mapped(pid: int, library: str) -> bool:
    """Whether process ``pid`` has loaded a shared library of ``library`` (numpy, pandas, ...)."""
    try:
        return f"/{library}/" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.slow  # each child finishes loading the CLI (the interrupt is held until then): ~2-4 s
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc/<pid>/maps")
def test_sigint_at_start_up_is_one_line_and_exit_130(tmp_path) -> None:
    """Issue 20: SIGINT in the first half-second printed a 32-line traceback (the interrupt hit
    while the CLI was loading numpy, pandas, scipy, before main's try). Now an interrupt while
    each of them is loading is one line and exit 130 (or a clean finish). An interrupt inside
    numpy's C initialisation used to come out as a pages-long ImportError, not even a
    KeyboardInterrupt: the entry holds it until the imports are done.

    The instants are found, not guessed: a child is interrupted as soon as it has mapped the
    library's first extension module (a fixed delay would land in the interpreter's own
    start-up, before any rplsim code, on a loaded machine).
    """
    libraries = ("numpy", "pandas", "scipy")
    procs = {
        lib: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rplsim",
                "run",
                str(SCENARIOS / "paper.toml"),
                "--out",
                str(tmp_path / lib),
            ],
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lib in libraries
    }
    waiting, deadline = dict(procs), time.monotonic() + 30
    while waiting and time.monotonic() < deadline:
        for lib, p in list(waiting.items()):
            if _mapped(p.pid, lib) or p.poll() is not None:
                p.send_signal(signal.SIGINT)
                del waiting[lib]
        time.sleep(0.002)
    for lib, p in procs.items():
        err = p.communicate(timeout=60)[1]
        assert "Traceback" not in err, f"SIGINT while loading {lib}:\n{err}"
        if p.returncode != 0:
            assert (p.returncode, err) == (130, "rplsim: interrupted; nothing was written.\n"), lib
