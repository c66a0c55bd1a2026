"""Run the .sql files that live beside the code: split into statements, bind named parameters."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import duckdb

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


@cache
def read_sql(package: str, name: str) -> tuple[str, ...]:
    """The statements of `name` in `package`, split at semicolons that end a line."""
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    statements = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return tuple(s.strip() for s in statements if s.strip())


def run_sql(
    con: duckdb.DuckDBPyConnection, package: str, name: str, params: dict[str, Any] | None = None
) -> None:
    """Execute every statement of a packaged .sql file, each with the parameters it names."""
    params = params or {}
    for statement in read_sql(package, name):
        wanted = set(_PARAM.findall(statement))
        missing = wanted - params.keys()
        if missing:
            raise KeyError(f"{name}: no value for parameters {sorted(missing)}")
        con.execute(statement, {k: params[k] for k in wanted} if wanted else None)
