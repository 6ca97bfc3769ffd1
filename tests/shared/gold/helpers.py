"""Shared bits of the Gold tests: hand-written landing rows, reading Gold back, and the
Delta version of every Gold table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from shared.gold.models import load_models
from shared.lake import Lake

GOLD_TABLES = sorted(m.name for m in load_models())
COUNTED = ("placed", "shipped", "delivered")
# Gold's clock: the SQL models do not read it, the run id does.
GOLD_NOW = datetime(2024, 7, 1, 7, 0)

STORE = "S1,Main,London,GB,store"


def customer(cid: str, city: str = "London", updated: str = "2024-01-01T00:00:00") -> str:
    country = {"London": "GB", "Paris": "FR", "Rome": "IT"}.get(city, "GB")
    return f"{cid},Ann,Lee,{cid.lower()}@x.com,+44 1,{city},{country},gold,2024-01-01,{updated}"


def product(pid: str, cost: str, price: str, updated: str = "2024-01-01T00:00:00") -> str:
    return f"{pid},Mug,Home,{cost},{price},{updated}"


def order(oid: str, cid: str, ts: str, status: str = "placed", updated: str | None = None) -> str:
    return f"{oid},{cid},S1,{ts},{status},{updated or ts}"


def parents(land, customers, products, *, customer_file="c.csv", product_file="p.csv"):
    """The landing files of the parents most fixtures share: one store, the given
    customers and products."""
    return (
        land("stores", "s.csv", [STORE]),
        land("customers", customer_file, customers),
        land("products", product_file, products),
    )


def gold(lake: Lake, table: str) -> list[dict[str, Any]]:
    """A Gold table's rows, in a stable order (sorted by every column's text)."""
    data = lake.read(f"gold.{table}")
    assert data is not None, f"gold.{table} does not exist"
    return sorted(data.to_pylist(), key=lambda r: [str(v) for v in r.values()])


def by_key(rows: list[dict[str, Any]], *key: str) -> dict[Any, dict[str, Any]]:
    out = {}
    for r in rows:
        k = r[key[0]] if len(key) == 1 else tuple(r[c] for c in key)
        assert k not in out, f"duplicate key {k}"
        out[k] = r
    return out


def gold_versions(lake: Lake) -> dict[str, int | None]:
    """The Delta version of every Gold table, read from its log (not from the Lake's cache)."""
    versions: dict[str, int | None] = {}
    for table in GOLD_TABLES:
        try:
            versions[table] = DeltaTable(lake.url(f"gold.{table}")).version()
        except TableNotFoundError:
            versions[table] = None
    return versions


def gold_snapshot(lake: Lake) -> dict[str, list[dict[str, Any]]]:
    return {t: gold(lake, t) for t in GOLD_TABLES}
