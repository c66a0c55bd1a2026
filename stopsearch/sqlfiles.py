"""The .sql files that live beside the code that runs them: named statements, named parameters.

A `-- name: x` line names the statements below it, up to the next `-- name:` line; a statement
ends at a line ending in `;` or where its section ends (so a named fragment such as an ORDER BY
clause can be appended to another statement). Other lines starting with `--` are comments.
Parameters are written `$name` (DuckDB's named parameters): each statement is given exactly the
values it names, from a mapping that may hold more (DuckDB refuses values a statement lacks).
A `/* slot */` comment marks where the code inserts SQL it generates from declarations (e.g. one
column per declared metric); nothing else is ever pasted into a statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import duckdb

_NAME = re.compile(r"^--\s*name:\s*([a-z][a-z0-9_]*)\s*$")
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")

Params = Mapping[str, Any] | Sequence[Any] | None


@dataclass(frozen=True)
class Statement:
    """One SQL statement and the `$parameters` it names."""

    sql: str
    params: frozenset[str]

    @classmethod
    def of(cls, sql: str) -> Statement:
        """A statement from its text."""
        return cls(sql, frozenset(_PARAM.findall(sql)))

    def filled(self, where: str, slots: Mapping[str, str]) -> Statement:
        """This statement with each `/* slot */` replaced by generated SQL (never parameters)."""
        sql = self.sql
        for slot, text in slots.items():
            marker = f"/* {slot} */"
            if marker not in sql:
                raise KeyError(f"{where}: no slot {marker}")
            if _PARAM.search(text):
                raise ValueError(f"{where}: SQL for slot {marker} must not hold $parameters")
            sql = sql.replace(marker, text)
        return Statement(sql, self.params)

    def bind(self, where: str, params: Params) -> Params:
        """The values to execute this statement with; KeyError names a missing `$parameter`."""
        if params is None or not isinstance(params, Mapping):
            if self.params:
                raise KeyError(f"{where}: needs parameters {sorted(self.params)}")
            return params
        missing = self.params - params.keys()
        if missing:
            raise KeyError(f"{where}: no value for parameters {sorted(missing)}")
        return {k: params[k] for k in self.params} if self.params else None


@dataclass(frozen=True)
class Section:
    """The statements under one `-- name:` line (name None: those before the first one)."""

    name: str | None
    statements: tuple[Statement, ...]


def parse_sql(text: str, source: str = "<sql>") -> tuple[Section, ...]:
    """The sections of a .sql file's text, in file order (ValueError for a repeated name)."""
    sections: list[Section] = []
    name: str | None = None
    statements: list[Statement] = []
    lines: list[str] = []

    def end_statement() -> None:
        sql = "\n".join(lines).strip().removesuffix(";").strip()
        if sql:
            statements.append(Statement.of(sql))
        lines.clear()

    def end_section() -> None:
        end_statement()
        if statements:
            sections.append(Section(name, tuple(statements)))
        elif name is not None:
            raise ValueError(f"{source}: '-- name: {name}' has no statement")
        statements.clear()

    for line in text.splitlines():
        stripped = line.strip()
        marker = _NAME.match(stripped)
        if marker:
            end_section()
            name = marker[1]
        elif not stripped.startswith("--"):
            lines.append(line)
            if stripped.endswith(";"):
                end_statement()
    end_section()
    names = [s.name for s in sections if s.name]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{source}: statement names used twice: {repeated}")
    return tuple(sections)


class SqlFile:
    """The named statements of one packaged .sql file: `SqlFile("stopsearch.metrics", "x.sql")`.

    A name may cover several statements (run in order); `file[name]` is the text of a name that
    covers one, for code that must extend it (e.g. append a named ORDER BY fragment).
    """

    def __init__(self, package: str, filename: str) -> None:
        self.package = package
        self.filename = filename

    def __repr__(self) -> str:
        return f"SqlFile({self.package!r}, {self.filename!r})"

    @property
    def source(self) -> str:
        """The file, as errors name it."""
        return f"{self.package.replace('.', '/')}/{self.filename}"

    @property
    def sections(self) -> tuple[Section, ...]:
        """Every section, in file order (the file is read once per process)."""
        return _sections(self.package, self.filename)

    def section(self, name: str) -> Section:
        """The statements called `name`; KeyError naming the file when there are none."""
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(f"{self.source}: no statement '-- name: {name}'")

    def __getitem__(self, name: str) -> str:
        """The text of the single statement called `name`."""
        statements = self.section(name).statements
        if len(statements) != 1:
            raise ValueError(f"{self.source}: '{name}' holds {len(statements)} statements")
        return statements[0].sql

    def execute(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        params: Params = None,
        *,
        slots: Mapping[str, str] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """Run the statements called `name`, each with the parameters it names; `con` after.

        `slots` fills the `/* slot */` markers of the statement with generated SQL.
        """
        where = f"{self.source} '{name}'"
        for statement in self.section(name).statements:
            if slots:
                statement = statement.filled(where, slots)
            con.execute(statement.sql, statement.bind(where, params))
        return con

    def one(
        self, con: duckdb.DuckDBPyConnection, name: str, params: Params = None
    ) -> tuple[Any, ...]:
        """The one row a statement returns (e.g. an aggregate); LookupError when it has none."""
        return fetch_one(self.execute(con, name, params), f"{self.source} '{name}'")

    def scalar(self, con: duckdb.DuckDBPyConnection, name: str, params: Params = None) -> Any:
        """The first value of the one row a statement returns."""
        return self.one(con, name, params)[0]

    def run_all(
        self, con: duckdb.DuckDBPyConnection, params: Mapping[str, Any] | None = None
    ) -> None:
        """Run every statement of the file in order, each with the parameters it names."""
        for section in self.sections:
            for statement in section.statements:
                con.execute(statement.sql, statement.bind(self.source, params or {}))


def fetch_one(con: duckdb.DuckDBPyConnection, where: str) -> tuple[Any, ...]:
    """The next row of the statement `con` just ran; LookupError naming `where` if none is left."""
    row = con.fetchone()
    if row is None:
        raise LookupError(f"{where} returned no row")
    return row


@cache
def _sections(package: str, filename: str) -> tuple[Section, ...]:
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return parse_sql(text, f"{package.replace('.', '/')}/{filename}")


def run_sql(
    con: duckdb.DuckDBPyConnection, package: str, name: str, params: dict[str, Any] | None = None
) -> None:
    """Execute every statement of a packaged .sql file, each with the parameters it names."""
    SqlFile(package, name).run_all(con, params)
