"""Database tables and queries: a table's rows, columns and indexes, and the named queries
on it, from which what a query costs follows (:mod:`simperf.dbcost.query_cost`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from simperf.spec.base import IDENTIFIER, SpecModel, unit_number
from simperf.units import SIZE_PATTERN, parse_size

MAX_ROWS = 10**12
"""Upper bound on the rows of a table."""
UNIQUE = MAX_ROWS
"""Distinct-value count that ``unique`` stands for (capped at the table's rows)."""
MAX_BYTES = 2**50
"""Upper bound on sizes in bytes (1 PiB)."""


def _whole_bytes(value: object) -> int:
    return round(parse_size(value))


ByteSize = unit_number(
    int, _whole_bytes, SIZE_PATTERN, "bytes, or a string with a unit: 512, 8KiB, 16GiB"
)
"""A size in bytes; accepts an integer or a string such as ``8KiB`` or ``16GiB``."""

Name = Annotated[str, Field(pattern=IDENTIFIER, max_length=64)]


def _distinct(value: Any) -> Any:
    if isinstance(value, str):  # a quoted number is refused, as the JSON Schema does
        if value != "unique":
            raise ValueError(f"expected a whole number or 'unique', got {value!r}")
        return UNIQUE
    return value


Distinct = Annotated[
    int,
    BeforeValidator(_distinct, json_schema_input_type=int | Literal["unique"]),
    Field(ge=1, le=UNIQUE),
]


Columns = Annotated[list[Name], Field(min_length=1, max_length=32)]


class IndexSpec(SpecModel):
    """A B-tree index on one or more columns; a composite index serves any leading prefix.

    Written as a list of columns (``[category, created_at]``) or one column name.
    """

    columns: Columns = Field(description="indexed columns, most significant first")


def _index_shorthand(value: Any) -> Any:
    if isinstance(value, str):
        return {"columns": [value]}
    if isinstance(value, list):
        return {"columns": value}
    return value


Index = Annotated[
    IndexSpec,
    # the shorthands' columns are checked as the spec's are, in the JSON Schema too
    BeforeValidator(_index_shorthand, json_schema_input_type=IndexSpec | Columns | Name),
]


class TableSpec(SpecModel):
    """A table: its rows, their size, its columns' cardinalities and its indexes.

    The primary key is a unique column, clustered (rows are stored in key order, as in
    InnoDB) and always indexed. Other columns are listed with their number of distinct
    values, from which the rows matching an equality filter follow.
    """

    rows: int = Field(ge=1, le=MAX_ROWS, description="number of rows")
    row_size: ByteSize = Field(200, ge=1, le=2**30, description="average row size in bytes")
    primary_key: Name = Field("id", description="primary-key column (unique, clustered)")
    columns: dict[Name, Distinct] = Field(
        default_factory=dict,
        max_length=1000,
        description="other column -> number of distinct values ('unique': one row per value)",
    )
    indexes: dict[Name, Index] = Field(
        default_factory=dict, max_length=100, description="secondary index name -> its columns"
    )
    keyspace: Name | None = Field(
        None,
        description="key space (top-level keyspaces) the primary key draws from; default uniform",
    )

    def has_column(self, column: str) -> bool:
        """Whether ``column`` is the primary key or a listed column."""
        return column == self.primary_key or column in self.columns

    def distinct(self, column: str) -> int:
        """Distinct values of a column, at most the number of rows."""
        if column == self.primary_key:
            return self.rows
        return min(self.columns[column], self.rows)


class JoinSpec(SpecModel):
    """Eager loading: for every row the query returns, the matching rows of another table."""

    table: Name = Field(description="the joined table")
    column: Name = Field(
        description="column of the joined table matched to each outer row (index it)"
    )


class QuerySpec(SpecModel):
    """One named query: a statement on a table with equality filters on some columns."""

    table: Name = Field(description="table the query reads or writes")
    op: Literal["select", "insert", "update", "delete"] = Field(
        "select", description="statement kind; insert, update and delete are writes"
    )
    where: list[Name] = Field(
        default_factory=list, max_length=32, description="columns filtered by equality"
    )
    limit: int | None = Field(
        None, ge=1, le=MAX_ROWS, description="at most this many rows (default: all that match)"
    )
    updates: list[Name] | None = Field(
        None,
        max_length=1000,
        description="update: columns changed (indexes on them are maintained; default all)",
    )
    join: JoinSpec | None = Field(None, description="select: eager-load matching rows of a table")

    @property
    def is_write(self) -> bool:
        """Whether the query writes (and so runs on the primary)."""
        return self.op != "select"

    @model_validator(mode="after")
    def _consistent(self) -> QuerySpec:
        if self.op == "insert" and self.where:
            raise ValueError("where: an insert has no where clause")
        if self.join is not None and self.op != "select":
            raise ValueError("join: only a select can join")
        if self.updates is not None and self.op != "update":
            raise ValueError("updates: only for op: update")
        if len(set(self.where)) != len(self.where):
            raise ValueError("where: a column is listed twice")
        return self


def _columns_of(table: TableSpec) -> str:
    return ", ".join([table.primary_key, *table.columns])
