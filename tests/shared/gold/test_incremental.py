"""Incremental Gold (fact_sales merged for the orders Silver changed) equals a full
rebuild, row for row, on generated data delivered day by day."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from itertools import groupby
from pathlib import Path

import pyarrow.compute as pc

import shared.gold.build as gold_build
from providers.storage import LocalStorage
from shared.generate import GenerateOptions, generate
from shared.gold.build import build_gold
from shared.gold.models import load_models
from shared.ingest import LandingFile, ingest_files
from shared.lake import Lake
from shared.ops import RUNS
from shared.silver.build import build_silver
from tests.conftest import PII_KEY
from tests.shared.gold.helpers import GOLD_NOW, customer, gold, order, parents, product


def _day(path: Path) -> str:
    return path.name.split("_", 1)[0]


def _tables(lake: Lake) -> dict[str, list[dict]]:
    out = {}
    for model in load_models():
        rows = lake.read(f"gold.{model.name}").to_pylist()
        out[model.name] = sorted(rows, key=lambda r: json.dumps(r, default=str, sort_keys=True))
    return out


def test_incremental_gold_equals_full_refresh(tmp_path: Path, contracts, con, monkeypatch) -> None:
    lake = Lake(LocalStorage(tmp_path / "lake"))
    landing = tmp_path / "lake" / "landing"
    generated = generate(
        landing, GenerateOptions(days=8, orders_per_day=30, end_date=date(2026, 2, 3))
    )
    merged = []
    for day, files in groupby(sorted(generated.files, key=_day), key=_day):
        batch = [
            LandingFile(
                f"landing/{p.relative_to(landing).as_posix()}",
                str(p),
                f"landing/{p.relative_to(landing).as_posix()}",
            )
            for p in files
        ]
        ingest_files(lake, contracts, con, batch)
        clock = datetime.combine(date.fromisoformat(day) + timedelta(days=1), datetime.min.time())
        build_silver(lake, contracts, con, PII_KEY, now=clock)
        result = build_gold(lake, con, now=clock, lookback=timedelta(0))
        assert result.status == "succeeded", result
        merged.append(result)
    runs = lake.read(RUNS, filter=pc.field("job") == "gold").to_pylist()
    details = [json.loads(r["details"]) for r in sorted(runs, key=lambda r: r["started_at"])]
    assert [d["incremental"] for d in details] == [False] + [True] * 7
    # Each day's run recomputes that day's orders and the older ones a change touched
    # (status updates, late customers), not the whole history.
    orders = lake.read("silver.orders").num_rows
    assert all(0 < r.recomputed_orders < orders for r in merged[1:])
    incremental = _tables(lake)
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "lake", copy)
    full = Lake(LocalStorage(copy))
    assert build_gold(full, con, full_refresh=True).status == "succeeded"
    assert _tables(full) == incremental
    # fact_sales built range of orders by range (as at 10M order lines) gives the same rows.
    monkeypatch.setattr(gold_build, "FACT_RANGE_ORDERS", 40)
    ranged = Lake(LocalStorage(shutil.copytree(tmp_path / "lake", tmp_path / "ranged")))
    assert build_gold(ranged, con, full_refresh=True).status == "succeeded"
    assert _tables(ranged) == incremental
    # The months straddle January and February, so the marts have more than one row.
    assert len(incremental["kpi_monthly"]) == 2
    assert len(incremental["fact_sales"]) > 300


def test_a_late_earlier_order_moves_its_customer_to_an_older_cohort(
    land, deliver, lake, con, tmp_path: Path
) -> None:
    deliver(*parents(land, [customer("C1"), customer("C2")], [product("P1", "2.00", "5.00")]))
    deliver(
        land(
            "orders",
            "o1.csv",
            [order("O1", "C1", "2024-02-10T10:00:00"), order("O2", "C2", "2024-02-12T10:00:00")],
        ),
        land("order_lines", "l1.csv", ["O1,1,P1,1,5.00,0", "O2,1,P1,1,5.00,0"]),
    )
    assert build_gold(lake, con, now=GOLD_NOW, lookback=timedelta(0)).status == "succeeded"
    cohorts = [(str(r["cohort_month"]), r["cohort_size"]) for r in gold(lake, "cohort_retention")]
    assert cohorts == [("2024-02-01", 2)]

    # C1's January order arrives late: C1 moves from the February cohort to January's.
    deliver(
        land("orders", "o0.csv", [order("O0", "C1", "2024-01-05T10:00:00")]),
        land("order_lines", "l0.csv", ["O0,1,P1,1,5.00,0"]),
    )
    result = build_gold(lake, con, now=GOLD_NOW, lookback=timedelta(0))
    assert result.status == "succeeded" and result.recomputed_orders == 1
    # Merged for the touched cohorts, not rewritten whole.
    assert lake.delta("gold.cohort_retention").history(1)[0]["operation"] == "MERGE"

    rows = [
        (str(r["cohort_month"]), r["months_since"], r["cohort_size"], r["active_customers"])
        for r in gold(lake, "cohort_retention")
    ]
    assert sorted(rows) == [
        ("2024-01-01", 0, 1, 1),
        ("2024-01-01", 1, 1, 1),
        ("2024-02-01", 0, 1, 1),
    ]
    copy = tmp_path / "copy"
    shutil.copytree(Path(lake.storage.local_path("")), copy)
    full = Lake(LocalStorage(copy))
    assert build_gold(full, con, full_refresh=True).status == "succeeded"
    assert _tables(full) == _tables(lake)


def test_a_large_change_or_a_large_fact_table_rebuilds_fact_sales_whole(
    land, deliver, lake, con, monkeypatch
) -> None:
    """The merge path's memory grows with the change and with the table; past a share of
    all orders or a table size, the run rebuilds fact_sales by the streamed full path
    instead, and says so."""
    monkeypatch.setattr(gold_build, "REBUILD_MIN_ORDERS", 0)
    monkeypatch.setattr(gold_build, "REBUILD_SHARE", 0.5)
    deliver(*parents(land, [customer("C1")], [product("P1", "2.00", "5.00")]))
    lines = ["O1,1,P1,1,5.00,0", "O2,1,P1,2,5.00,0", "O3,1,P1,3,5.00,0", "O4,1,P1,4,5.00,0"]
    deliver(
        land(
            "orders",
            "o1.csv",
            [order(f"O{i}", "C1", f"2024-02-1{i}T10:00:00") for i in (1, 2, 3, 4)],
        ),
        land("order_lines", "l1.csv", lines),
    )
    assert build_gold(lake, con, now=GOLD_NOW, lookback=timedelta(0)).status == "succeeded"

    def ship(*ids: str) -> None:
        deliver(
            land(
                "orders",
                f"o-{'-'.join(ids)}.csv",
                [
                    order(i, "C1", f"2024-02-1{i[1]}T10:00:00", "shipped", "2024-03-01T00:00:00")
                    for i in ids
                ],
            )
        )

    ship("O1")  # 1 of 4 orders: merged
    result = build_gold(lake, con, now=GOLD_NOW, lookback=timedelta(0))
    assert result.recomputed_orders == 1 and result.note == ""
    assert lake.delta("gold.fact_sales").history(1)[0]["operation"] == "MERGE"

    ship("O2", "O3")  # 2 of 4: rebuilt, to the same rows a full refresh gives
    result = build_gold(lake, con, now=GOLD_NOW, lookback=timedelta(0))
    assert result.status == "succeeded" and result.recomputed_orders is None
    assert result.note == "fact_sales rebuilt whole: the changes touch 2 orders (Silver holds 4)"
    assert lake.delta("gold.fact_sales").history(1)[0]["operation"] != "MERGE"
    (details,) = [
        json.loads(r["details"])
        for r in lake.read(RUNS, filter=pc.field("job") == "gold").to_pylist()
        if r["run_id"] == result.run_id
    ]
    assert details["incremental"] is False and details["note"] == result.note
    statuses = {r["order_id"]: r["status"] for r in gold(lake, "fact_sales")}
    assert statuses == {"O1": "shipped", "O2": "shipped", "O3": "shipped", "O4": "placed"}
    rebuilt = _tables(lake)
    assert build_gold(lake, con, now=GOLD_NOW, full_refresh=True).status == "succeeded"
    assert _tables(lake) == rebuilt

    # A fact table past the size a merge keeps to its memory is rebuilt, however small the
    # change.
    monkeypatch.setattr(gold_build, "MERGE_MAX_FACT_ROWS", 3)
    ship("O4")
    result = build_gold(lake, con, now=GOLD_NOW, lookback=timedelta(0))
    assert result.recomputed_orders is None
    assert (
        result.note
        == "fact_sales rebuilt whole: it holds 4 rows, more than a merge keeps to its memory"
    )
    assert {r["status"] for r in gold(lake, "fact_sales")} == {"shipped"}


def test_builds_delete_the_files_their_tables_stopped_using(land, deliver, lake, con) -> None:
    """Past the lake's retention (0 hours here), Silver's MERGE and Gold's rebuild leave on
    disk only the files their tables use; a Silver build with nothing new leaves Silver's
    versions alone, so the next Gold run is still a no-op."""
    lake.retention_hours = 0
    deliver(*parents(land, [customer("C1")], [product("P1", "2.00", "5.00")]))
    deliver(
        land("orders", "o1.csv", [order("O1", "C1", "2024-02-10T10:00:00")]),
        land("order_lines", "l1.csv", ["O1,1,P1,1,5.00,0"]),
    )
    assert build_gold(lake, con, now=GOLD_NOW).status == "succeeded"
    shipped = order("O1", "C1", "2024-02-10T10:00:00", "shipped", "2024-02-11T10:00:00")
    deliver(land("orders", "o2.csv", [shipped]))  # a MERGE rewrites the Silver file
    assert lake.delta("silver.orders").history(1)[0]["operation"] == "VACUUM END"
    assert build_gold(lake, con, now=GOLD_NOW, full_refresh=True).status == "succeeded"

    root = Path(lake.storage.local_path(""))
    for table in ("silver.orders", *(f"gold.{m.name}" for m in load_models())):
        on_disk = {f.name for f in (root / table.replace(".", "/")).glob("*.parquet")}
        assert on_disk == {Path(u).name for u in lake.delta(table).file_uris()}, table
    assert gold(lake, "fact_sales")[0]["status"] == "shipped"

    versions = {t: lake.delta(f"silver.{t}").version() for t in ("orders", "order_lines")}
    assert deliver().status == "noop"
    assert {t: lake.delta(f"silver.{t}").version() for t in versions} == versions
    assert build_gold(lake, con, now=GOLD_NOW).status == "noop"
