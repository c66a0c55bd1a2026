"""Sessions: `nox -s tests` (everything the tests need, then pytest), `lint` (ruff), `bench`,
`fuzz` (the ingest against corrupted months; not in CI, not run by default)."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def _ensure_chromium(session: nox.Session) -> None:
    """Browser tests drive Debian's chromium; install it when missing and we may (root)."""
    if shutil.which("chromium") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    if not shutil.which("apt-get"):
        return
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", "chromium", external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """Install the package with its test extras (and chromium) and run the whole suite."""
    _ensure_chromium(session)
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, the tests and the benchmarks."""
    session.install("ruff")
    session.run("ruff", "check", "stopsearch", "tests", "benchmarks", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """The end-to-end benchmark (not a test): prints a table, writes benchmarks/results/."""
    session.install("-e", ".")
    session.run("python", "benchmarks/bench.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Corrupted months into the ingest: `nox -s fuzz -- --files 10000 --seed 0` (not a test)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "tests.fuzz_ingest", *session.posargs)
