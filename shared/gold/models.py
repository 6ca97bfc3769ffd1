"""Gold models: one SQL file per table under `models/`, each a plain SELECT with a small
header naming the model and what it reads:

    -- model: fact_sales
    -- depends: silver_order_lines, silver_orders, dim_customer, dim_product, dim_store

Inputs are `silver_<table>` and `quarantine_<table>` relations; other names are models.
The build order follows the `depends` lines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from shared.errors import TerminalError

MODELS_DIR = Path(__file__).parent / "models"
_HEADER = re.compile(r"^--\s*(model|depends):\s*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Model:
    name: str
    sql: str
    depends: tuple[str, ...]

    @property
    def inputs(self) -> list[str]:
        """The Silver and quarantine relations the model reads."""
        return [d for d in self.depends if d.startswith(("silver_", "quarantine_"))]


def load_models(directory: Path = MODELS_DIR) -> list[Model]:
    """Every model, in an order where each comes after what it depends on."""
    models = {}
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        header = {key: value.strip() for key, value in _HEADER.findall(text)}
        name = header.get("model")
        if name != path.stem:
            raise TerminalError(f"{path}: the header must say '-- model: {path.stem}'")
        depends = tuple(d.strip() for d in header.get("depends", "").split(",") if d.strip())
        models[name] = Model(name, text, depends)
    ordered: list[Model] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            cycle = " -> ".join((*trail, name))
            raise TerminalError(f"gold models depend on each other in a cycle: {cycle}")
        if any(m.name == name for m in ordered):
            return
        for dep in models[name].depends:
            if dep in models:
                visit(dep, (*trail, name))
            elif not dep.startswith(("silver_", "quarantine_")):
                raise TerminalError(f"gold model {name} depends on unknown {dep!r}")
        ordered.append(models[name])

    for name in sorted(models):
        visit(name, ())
    return ordered


def input_columns(
    con: duckdb.DuckDBPyConnection, models: list[Model], extra: dict[str, set[str]]
) -> dict[str, set[str] | None]:
    """Per input relation, the column names that the models reading it (and `extra`, for
    the build's own queries) name anywhere; None (every column) when one of them selects
    `*` straight from it. Read from DuckDB's parse tree, so names in comments or strings do
    not count. A superset of what is read, which is all that loading needs: a column no
    model names is not loaded (lineage, hashes and file names are most of Silver's bytes)."""
    wanted: dict[str, set[str] | None] = {name: set(cols) for name, cols in extra.items()}
    for model in models:
        tree = json.loads(
            con.execute("SELECT json_serialize_sql($sql)", {"sql": model.sql}).fetchall()[0][0]
        )
        if tree.get("error"):
            raise TerminalError(f"gold model {model.name}: {tree.get('error_message')}")
        named = {n["column_names"][-1] for n in _nodes(tree) if n.get("class") == "COLUMN_REF"}
        starred = {t for n in _nodes(tree) if n.get("type") == "SELECT_NODE" for t in _starred(n)}
        for name in model.inputs:
            current = wanted.setdefault(name, set())
            if name in starred or current is None:
                wanted[name] = None
            else:
                current |= named
    return wanted


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def _starred(select: dict[str, Any]) -> set[str]:
    """Tables a SELECT takes `*` from: those of its own FROM clause, joins included."""
    if not any(item.get("class") == "STAR" for item in select.get("select_list", [])):
        return set()
    tables, stack = set(), [select.get("from_table") or {}]
    while stack:
        node = stack.pop()
        if node.get("type") == "BASE_TABLE":
            tables.add(node.get("table_name"))
        elif node.get("type") == "JOIN":
            stack += [node.get("left") or {}, node.get("right") or {}]
    return tables
