"""Sessions: `nox -s tests` (everything the tests need, then pytest), `lint` (ruff, mypy), `bench`,
`fuzz` (the ingest against corrupted months; not in CI, not run by default)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
# uv installs the ~1 GB of test dependencies in a fraction of pip's time (.ci/run installs it);
# without it nox uses virtualenv and pip. uv ignores pip's configuration: let it trust the
# system's certificate store as pip does (a TLS-inspecting proxy's CA may only be there).
nox.options.default_venv_backend = "uv|virtualenv"
os.environ.setdefault("UV_SYSTEM_CERTS", "1")

# pytest's default arguments here: one worker per core, idle workers take queued tests from
# busy ones (the publish tests vary from 1 s to 30 s), the slowest 25 listed at the end.
# `nox -s tests -- ARGS` replaces them.
PYTEST_ARGS = ("--numprocesses", "auto", "--dist", "worksteal", "--durations", "25")
APT_ATTEMPTS = 5
# mypy's cache outside the checkout: a fresh clone (CI) on a machine that ran the lint before
# checks in seconds instead of re-reading numpy's and scipy's stubs (about 20 s of CPU). Entries
# are validated by file hash, so a stale or foreign entry is only re-checked, never trusted.
MYPY_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stopsearch-mypy"


def _apt_get(session: nox.Session, *args: str) -> None:
    """apt-get, waiting for the dpkg lock (another apt run) and retrying a failed attempt."""
    command = ("apt-get", "-o", "DPkg::Lock::Timeout=300", *args)
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    for attempt in range(1, APT_ATTEMPTS + 1):
        try:
            session.run(*command, external=True, env=env)
            return
        except nox.command.CommandFailed:
            if attempt == APT_ATTEMPTS:
                raise
            session.log(f"apt-get failed (attempt {attempt} of {APT_ATTEMPTS}); retrying")
            session.run("sleep", str(10 * attempt), external=True)


def _ensure_chromium(session: nox.Session) -> None:
    """Browser tests drive Debian's chromium; install it when missing and we may (root)."""
    if shutil.which("chromium") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    if not shutil.which("apt-get"):
        return
    _apt_get(session, "update", "-qq")
    _apt_get(session, "install", "-y", "-qq", "chromium")


def _install(session: nox.Session, *args: str) -> None:
    """Install without byte-compiling (pip's default, half its time for these dependencies; uv
    does not compile unless asked): Python compiles only what the tests import, on import."""
    if session.venv_backend in ("virtualenv", "venv"):
        args = ("--no-compile", *args)
    session.install(*args)


@nox.session
def tests(session: nox.Session) -> None:
    """Install the package with its test extras (and chromium) and run the whole suite."""
    _ensure_chromium(session)
    _install(session, "-e", ".[test]")
    session.run("pytest", *(session.posargs or PYTEST_ARGS))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, the tests and the benchmarks; mypy over the package (flags and files
    in pyproject.toml), with the package's dependencies installed so that it reads their types."""
    _install(session, "-e", ".[lint]")
    session.run("ruff", "check", "stopsearch", "tests", "benchmarks", "noxfile.py")
    session.run("mypy", env={"MYPY_CACHE_DIR": str(MYPY_CACHE)})


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
