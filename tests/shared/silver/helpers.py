"""Reading back Silver, quarantine and dropped rows in tests."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pyarrow.compute as pc

from shared.lake import Lake
from shared.ops import DROPPED_ROWS


def rows(lake: Lake, table: str, *columns: str) -> list[dict[str, Any]]:
    data = lake.read(table)
    if data is None:
        return []
    picked = data.select(list(columns)) if columns else data
    return sorted(picked.to_pylist(), key=lambda r: json.dumps(r, default=str, sort_keys=True))


def held(lake: Lake, table: str, active_only: bool = True) -> list[dict[str, Any]]:
    data = lake.read(f"quarantine.{table}")
    if data is None:
        return []
    if active_only:
        data = data.filter(pc.field("status") != "released")
    return sorted(data.to_pylist(), key=lambda r: (r["_source_file"], r["_row_number"]))


def dropped(lake: Lake, table: str) -> list[dict[str, Any]]:
    data = lake.read(DROPPED_ROWS)
    if data is None:
        return []
    chosen = [r for r in data.to_pylist() if r["table_name"] == table]
    return sorted(chosen, key=lambda r: (r["_source_file"], r["_row_number"]))


def lineage_fates(lake: Lake, table: str) -> dict[tuple[str, int], list[str]]:
    """Where every Bronze row of `table` ended up; each list should have one entry."""
    fates: dict[tuple[str, int], list[str]] = {
        (r["_batch_id"], r["_row_number"]): [] for r in rows(lake, f"bronze.{table}")
    }
    for r in rows(lake, f"silver.{table}"):
        fates[(r["_batch_id"], r["_row_number"])].append("silver")
    for r in held(lake, table):
        fates[(r["_batch_id"], r["_row_number"])].append("quarantine")
    for r in dropped(lake, table):
        fates[(r["_batch_id"], r["_row_number"])].append(r["reason"])
    return fates


def assert_reconciles(lake: Lake, table: str) -> None:
    fates = lineage_fates(lake, table)
    wrong = {k: v for k, v in fates.items() if len(v) != 1}
    assert not wrong, f"{table}: bronze rows not counted exactly once: {wrong}"


def assert_scd2_invariants(lake: Lake, table: str, key: str) -> None:
    versions: dict[str, list[dict[str, Any]]] = {}
    for r in rows(lake, f"silver.{table}"):
        versions.setdefault(r[key], []).append(r)
    for k, vs in versions.items():
        vs.sort(key=lambda r: r["valid_from"])
        assert sum(v["is_current"] for v in vs) == 1, f"{k}: not exactly one current version"
        assert vs[-1]["is_current"] and vs[-1]["valid_to"] is None, f"{k}: last is not current"
        for a, b in pairwise(vs):
            assert a["valid_to"] == b["valid_from"], f"{k}: gap or overlap {a} {b}"
            assert a["valid_from"] < b["valid_from"], f"{k}: empty or reversed interval"
            assert not a["is_current"]
