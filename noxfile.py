"""Sessions: `nox -s tests` (everything the tests need, then pytest), `lint` (ruff), `bench`."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Install the package with its test extras and run the whole suite."""
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
    session.run("python", "benchmarks/bench_ingest.py", *session.posargs)
