"""Silver build on small hand-written deliveries, with the expected outcome of each row."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from providers.storage import LocalStorage
from shared.contracts import load_contracts
from shared.ingest import LandingFile, ingest_files
from shared.lake import Lake
from shared.settings import PACKAGE_ROOT
from shared.silver import build
from shared.silver.build import build_silver, default_chunk_rows
from tests.conftest import PII_KEY, csv_text
from tests.shared.silver.helpers import (
    assert_reconciles,
    assert_scd2_invariants,
    dropped,
    held,
    rows,
)

CUST = "C1,Ann,Lee,ann@x.com,+44 1,London,GB,gold,2024-01-01,2024-01-01T00:00:00"
STORE = "S1,Main,London,GB,store"
PROD = "P1,Mug,Home,2.00,5.00,2024-01-01T00:00:00"


def _hash(value: str) -> str:
    return hmac.new(PII_KEY, value.encode(), hashlib.sha256).hexdigest()


def test_types_values_and_hashes_pii(land, deliver, lake):
    deliver(
        land(
            "customers",
            "c.csv",
            [" C1 ,Ann,Lee,  Ann@X.COM\u00a0,+44 1,London,GB,gold,2024-01-01,2024-01-01T00:00:00"],
        )
    )
    (row,) = rows(lake, "silver.customers")
    assert row["customer_id"] == "C1"
    assert row["email"] == _hash("ann@x.com")
    assert row["phone"] == _hash("+44 1")
    assert row["signup_date"].isoformat() == "2024-01-01"
    assert row["updated_at"] == datetime(2024, 1, 1)
    assert (row["valid_from"], row["valid_to"], row["is_current"]) == (
        datetime(2024, 1, 1),
        None,
        True,
    )


def test_every_failed_rule_is_listed_with_reason(land, deliver, lake):
    deliver(
        land("stores", "s.csv", [STORE]),
        land("products", "p.csv", [PROD]),
        land("orders", "o.csv", ["O1,C1,S1,2024-01-10T10:00:00,placed,2024-01-10T10:00:00"]),
        land("customers", "c.csv", [CUST]),
        land(
            "order_lines",
            "l.csv",
            [
                "O1,1,P1,two,5.00,150",  # wrong type and discount out of range
                "O1,2,P1,0,5.00,0",  # non-positive quantity
                "O1,3,P1,1,5.00,10",  # clean
                "O1,,P1,1,5.00,0",  # blank key
            ],
        ),
    )
    bad = {r["_row_number"]: r for r in held(lake, "order_lines")}
    assert set(bad) == {1, 2, 4}
    assert bad[1]["failed_rules"] == [
        "order_lines.quantity.type",
        "order_lines.discount_in_range",
    ]
    assert bad[1]["reasons"] == [
        "quantity is not a valid integer: 'two'",
        "discount_pct '150' is outside [0, 100]",
    ]
    assert bad[1]["rule_id"] == "order_lines.quantity.type"
    assert bad[1]["severity"] == "critical" and bad[1]["status"] == "quarantined"
    assert bad[2]["failed_rules"] == ["order_lines.quantity_positive"]
    assert bad[4]["failed_rules"] == ["order_lines.line_no.not_null"]
    assert json.loads(bad[1]["raw_row"])["quantity"] == "two"
    assert [r["line_no"] for r in rows(lake, "silver.order_lines")] == [3]
    assert_reconciles(lake, "order_lines")


def test_quarantine_holds_no_raw_pii(land, deliver, lake):
    deliver(
        land(
            "customers",
            "c.csv",
            ["C2,Bob,Ray,bob@@x,+44 2,Leeds,GB,gold,2024-01-01,2024-01-01T00:00:00"],
        )
    )
    (bad,) = held(lake, "customers")
    assert bad["failed_rules"] == ["customers.email_format"]
    assert "bob@@x" not in json.dumps(bad, default=str)
    assert "+44 2" not in json.dumps(bad, default=str)
    assert json.loads(bad["raw_row"])["email"] == _hash("bob@@x")


def test_exact_duplicates_are_dropped_once_within_and_across_files(land, deliver, lake):
    deliver(land("stores", "a.csv", [STORE, STORE]))
    deliver(land("stores", "b.csv", [STORE, "S2,Web,,GB,web"]))
    assert sorted(r["store_id"] for r in rows(lake, "silver.stores")) == ["S1", "S2"]
    assert [
        (d["_source_file"].rsplit("/", 1)[-1], d["_row_number"], d["reason"])
        for d in dropped(lake, "stores")
    ] == [
        ("a.csv", 2, "exact_duplicate"),
        ("b.csv", 1, "exact_duplicate"),
    ]
    assert_reconciles(lake, "stores")


def test_latest_version_wins_and_older_redelivery_is_stale(land, deliver, lake):
    base = "O1,C1,S1,2024-01-10T10:00:00"
    deliver(land("stores", "s.csv", [STORE]), land("customers", "c.csv", [CUST]))
    deliver(land("orders", "1.csv", [f"{base},placed,2024-01-10T10:00:00"]))
    deliver(land("orders", "2.csv", [f"{base},shipped,2024-01-11T10:00:00"]))
    deliver(land("orders", "3.csv", [f"{base},cancelled,2024-01-10T12:00:00"]))
    (order,) = rows(lake, "silver.orders")
    assert order["status"] == "shipped"
    (stale,) = held(lake, "orders")
    assert stale["rule_id"] == "orders.stale_record" and stale["severity"] == "warning"
    assert stale["_source_file"].endswith("3.csv")
    assert [d["_source_file"][-5:] for d in dropped(lake, "orders")] == ["1.csv"]


def test_same_sequence_tie_break_does_not_depend_on_arrival_order(tmp_path, contracts, con):
    a = "O1,C1,S1,2024-01-10T10:00:00,placed,2024-01-10T10:00:00"
    b = "O1,C1,S1,2024-01-10T10:00:00,shipped,2024-01-10T10:00:00"
    results = []
    for n, order in enumerate(([a, b], [b, a])):
        lake = Lake(LocalStorage(tmp_path / f"lake-{n}"))
        deliveries = [
            ("stores", STORE),
            ("customers", CUST),
            ("orders", order[0]),
            ("orders", order[1]),
        ]
        for i, (table, line) in enumerate(deliveries):
            path = f"landing/src/{table}/{i}.csv"
            lake.storage.write_bytes(path, csv_text(table, [line]).encode())
            file = LandingFile(path, lake.storage.local_path(path), path)
            ingest_files(lake, contracts, con, [file])
            build_silver(lake, contracts, con, PII_KEY)
        results.append(rows(lake, "silver.orders", "order_id", "status", "_row_hash"))
    assert len(results[0]) == 1
    assert results[0] == results[1]


def test_scd2_tracked_change_opens_version_untracked_updates_in_place(land, deliver, lake):
    deliver(land("customers", "1.csv", [CUST]))
    deliver(
        land(
            "customers",
            "2.csv",
            [
                "C1,Ann,Lee,ann@x.com,+44 1,Paris,FR,gold,2024-01-01,2024-02-01T00:00:00",
                "C1,Annie,Lee,ann@x.com,+44 1,Paris,FR,gold,2024-01-01,2024-02-05T00:00:00",
            ],
        )
    )
    deliver(
        land(
            "customers",
            "3.csv",
            ["C1,Annie,Lee,ann@x.com,+44 9,Paris,FR,gold,2024-01-01,2024-03-01T00:00:00"],
        )
    )
    versions = rows(
        lake,
        "silver.customers",
        "city",
        "first_name",
        "phone",
        "valid_from",
        "valid_to",
        "is_current",
    )
    versions.sort(key=lambda v: v["valid_from"])
    assert [
        (v["city"], v["first_name"], v["valid_from"], v["valid_to"], v["is_current"])
        for v in versions
    ] == [
        ("London", "Ann", datetime(2024, 1, 1), datetime(2024, 2, 1), False),
        ("Paris", "Annie", datetime(2024, 2, 1), None, True),
    ]
    assert versions[1]["phone"] == _hash("+44 9")
    assert_scd2_invariants(lake, "customers", "customer_id")
    assert_reconciles(lake, "customers")
    assert len(dropped(lake, "customers")) == 2  # Ann@Paris and Annie@+44 1 were updated in place


def test_scd2_history_is_never_rewritten_by_an_older_record(land, deliver, lake):
    deliver(land("customers", "1.csv", [CUST]))
    deliver(
        land(
            "customers",
            "2.csv",
            ["C1,Ann,Lee,ann@x.com,+44 1,Paris,FR,gold,2024-01-01,2024-03-01T00:00:00"],
        )
    )
    before = rows(lake, "silver.customers")
    deliver(
        land(
            "customers",
            "3.csv",
            ["C1,Ann,Lee,ann@x.com,+44 1,Rome,IT,gold,2024-01-01,2024-02-01T00:00:00"],
        )
    )
    assert rows(lake, "silver.customers") == before
    (stale,) = held(lake, "customers")
    assert stale["rule_id"] == "customers.stale_record"
    assert_scd2_invariants(lake, "customers", "customer_id")


def test_scd2_several_versions_in_one_batch_in_any_order(land, deliver, lake):
    deliver(
        land(
            "products",
            "p.csv",
            [
                "P1,Mug,Home,2.00,6.00,2024-03-01T00:00:00",
                "P1,Mug,Home,2.00,5.00,2024-01-01T00:00:00",
                "P1,Mug,Home,2.50,5.50,2024-02-01T00:00:00",
            ],
        )
    )
    versions = sorted(rows(lake, "silver.products"), key=lambda v: v["valid_from"])
    assert [str(v["unit_price"]) for v in versions] == ["5.00", "5.50", "6.00"]
    assert_scd2_invariants(lake, "products", "product_id")


def test_late_parent_is_held_then_released(land, deliver, lake):
    deliver(land("stores", "s.csv", [STORE]))
    first = deliver(
        land("orders", "o.csv", ["O1,C1,S1,2024-01-10T10:00:00,placed,2024-01-10T10:00:00"])
    )
    (wait,) = held(lake, "orders")
    assert (wait["rule_id"], wait["status"], wait["retryable"]) == (
        "orders.customer_exists",
        "pending",
        True,
    )
    assert rows(lake, "silver.orders") == []
    assert first.critical_failures == []  # one row is below the rate rule's min_rows
    second = deliver(land("customers", "c.csv", [CUST]))
    assert [r["order_id"] for r in rows(lake, "silver.orders")] == ["O1"]
    assert held(lake, "orders") == []
    (released,) = held(lake, "orders", active_only=False)
    assert released["status"] == "released" and released["released_run_id"] == second.run_id
    orders = next(t for t in second.tables if t.table == "orders")
    assert (orders.rechecked, orders.released) == (1, 1)
    assert_reconciles(lake, "orders")


def test_missing_parent_counts_as_bad_after_the_grace_period(land, deliver, lake):
    deliver(land("stores", "s.csv", [STORE]))
    deliver(land("orders", "o.csv", ["O1,C9,S1,2024-01-10T10:00:00,placed,2024-01-10T10:00:00"]))
    assert held(lake, "orders")[0]["status"] == "pending"
    deliver(now=datetime.now() + timedelta(hours=73))
    (bad,) = held(lake, "orders")
    assert bad["status"] == "quarantined" and bad["retryable"]


def test_child_of_a_quarantined_parent_is_not_an_orphan(land, deliver, lake):
    deliver(
        land("stores", "s.csv", [STORE]),
        land("customers", "c.csv", [CUST]),
        land("products", "p.csv", [PROD]),
        land("orders", "o.csv", ["O1,C1,S1,2024-01-10T10:00:00,lost,2024-01-10T10:00:00"]),
        land("order_lines", "l.csv", ["O1,1,P1,1,5.00,0"]),
    )
    assert [r["rule_id"] for r in held(lake, "orders")] == ["orders.status_known"]
    assert held(lake, "order_lines") == []
    assert len(rows(lake, "silver.order_lines")) == 1


def test_rebuild_and_reingest_are_no_ops(land, deliver, lake, contracts, con):
    files = [
        land("stores", "s.csv", [STORE, STORE]),
        land("orders", "o.csv", ["O1,C9,S1,2024-01-10T10:00:00,placed,2024-01-10T10:00:00"]),
    ]
    deliver(*files)
    snapshot = {
        t: rows(lake, t)
        for t in ("silver.stores", "silver.orders", "_ops.dropped_rows", "bronze.stores")
    }
    again = ingest_files(lake, contracts, con, files)
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    result = build_silver(lake, contracts, con, PII_KEY)
    assert result.status == "noop"
    assert {t: rows(lake, t) for t in snapshot} == snapshot


def test_replay_releases_rows_after_a_contract_fix(land, lake, tmp_path, con, contracts):
    file = land("stores", "s.csv", ["S1,Pop-up,London,GB,popup"])
    ingest_files(lake, contracts, con, [file])
    build_silver(lake, contracts, con, PII_KEY)
    assert [r["rule_id"] for r in held(lake, "stores")] == ["stores.channel_known"]
    fixed = tmp_path / "contracts"
    shutil.copytree(PACKAGE_ROOT / "contracts", fixed)
    path = Path(fixed / "stores.yaml")
    path.write_text(path.read_text().replace("values: [store, web]", "values: [store, web, popup]"))
    result = build_silver(lake, load_contracts(fixed), con, PII_KEY, replay=True)
    assert [r["store_id"] for r in rows(lake, "silver.stores")] == ["S1"]
    assert held(lake, "stores") == []
    assert result.tables[[t.table for t in result.tables].index("stores")].released == 1
    assert_reconciles(lake, "stores")


def test_dq_results_record_table_and_row_rules(land, deliver, lake):
    result = deliver(land("stores", "s.csv", [STORE, "S2,Other,,GB,mall"]))
    stores = next(t for t in result.tables if t.table == "stores")
    by_rule = {d["rule_id"]: d for d in stores.dq}
    assert by_rule["stores.channel_known"]["failed_rows"] == 1
    assert by_rule["stores.channel_known"]["passed"] is False
    assert by_rule["stores.unique"]["passed"] is True
    assert len(rows(lake, "_ops.dq_results")) == len(stores.dq)


def test_high_quarantine_rate_is_a_critical_failure(land, deliver, lake):
    bad = [f"S{i},Shop {i},,GB,mall" for i in range(25)]
    result = deliver(land("stores", "s.csv", bad))
    assert result.critical_failures == []  # stores has no rate rule
    orders = [f"O{i},C1,S1,2024-01-10T10:00:00,lost,2024-01-10T10:00:00" for i in range(30)]
    result = deliver(
        land("stores", "s2.csv", [STORE]),
        land("customers", "c.csv", [CUST]),
        land("orders", "o.csv", orders),
    )
    assert result.critical_failures == ["orders.quarantine_rate"]


def test_building_in_small_chunks_gives_the_same_tables(tmp_path, contracts, con):
    deliveries = [
        ("stores", [STORE]),
        ("customers", [CUST]),
        (
            "orders",
            [
                "O1,C1,S1,2024-01-10T10:00:00,placed,2024-01-10T10:00:00",
                "O2,C1,S1,2024-01-10T11:00:00,placed,2024-01-10T11:00:00",
            ],
        ),
        (
            "orders",
            [
                "O1,C1,S1,2024-01-10T10:00:00,shipped,2024-01-11T10:00:00",
                "O2,C1,S1,2024-01-10T11:00:00,placed,2024-01-10T11:00:00",
            ],
        ),
        (
            "orders",
            [
                "O1,C1,S1,2024-01-10T10:00:00,placed,2024-01-10T12:00:00",
                "O3,C9,S1,2024-01-10T10:00:00,placed,2024-01-10T12:00:00",
            ],
        ),
        ("customers", ["C1,Ann,Lee,ann@x.com,+44 1,Paris,FR,gold,2024-01-01,2024-02-01T00:00:00"]),
    ]
    results = []
    for chunk_rows in (1, 1_000_000):
        lake = Lake(LocalStorage(tmp_path / f"lake-{chunk_rows}"))
        files = []
        for i, (table, lines) in enumerate(deliveries):
            path = f"landing/src/{table}/{i}.csv"
            lake.storage.write_bytes(path, csv_text(table, lines).encode())
            files.append(LandingFile(path, lake.storage.local_path(path), path))
        ingest_files(lake, contracts, con, files)
        build_silver(lake, contracts, con, PII_KEY, chunk_rows=chunk_rows)
        results.append(
            {
                t: rows(lake, t, *cols)
                for t, cols in [
                    (
                        "silver.orders",
                        ("order_id", "status", "_row_hash", "_batch_id", "_source_file"),
                    ),
                    ("silver.customers", ("customer_id", "city", "valid_from", "is_current")),
                    ("quarantine.orders", ("order_id", "rule_id", "status", "_row_number")),
                    ("_ops.dropped_rows", ("table_name", "reason", "_row_hash")),
                ]
            }
        )
        for table in ("orders", "customers"):
            assert_reconciles(lake, table)
        # Staged chunks carry a number for each batch's lineage; it must map back exactly.
        lineage = ("_batch_id", "_source_file", "_ingested_at")
        arrived = {tuple(r.values()) for r in rows(lake, "bronze.orders", *lineage)}
        kept = {tuple(r.values()) for r in rows(lake, "silver.orders", *lineage)}
        assert kept <= arrived and len(kept) == 2
    assert results[0] == results[1]
    assert [r["status"] for r in results[0]["silver.orders"] if r["order_id"] == "O1"] == [
        "shipped"
    ]


def test_a_later_build_reads_only_the_bronze_files_of_its_batches(land, deliver, lake, monkeypatch):
    """Batch ids are content hashes, which statistics cannot prune by; arrival times can:
    with nothing held, a build reads only the Bronze files that arrived with its batches."""
    deliver(land("stores", "s.csv", [STORE]), land("customers", "c.csv", [CUST]))
    base = "O1,C1,S1,2024-01-10T10:00:00"
    deliver(land("orders", "1.csv", [f"{base},placed,2024-01-10T10:00:00"]))
    read: dict[str, list[str]] = {}
    local_files = Lake.local_files

    def spy(self, table, folder, **bounds):
        files = local_files(self, table, folder, **bounds)
        read[table] = files
        return files

    monkeypatch.setattr(Lake, "local_files", spy)
    deliver(land("orders", "2.csv", [f"{base},shipped,2024-01-11T10:00:00"]))
    assert len(lake.delta("bronze.orders").file_uris()) == 2  # 1.csv, 2.csv
    (file,) = read["bronze.orders"]
    assert pq.read_table(file).column("_source_file").to_pylist() == ["landing/src/orders/2.csv"]
    assert rows(lake, "silver.orders")[0]["status"] == "shipped"


def test_chunks_are_key_ranges_and_a_merge_rewrites_only_the_files_it_touches(
    land, lake, contracts, con
):
    """Chunks cut the keys into ranges, so each chunk's Silver file holds a narrow key
    range; a later re-delivery of one order then rewrites only the file holding it, and
    the new orders delivered with it are appended, not merged."""
    ingest_files(lake, contracts, con, [land("stores", "s.csv", [STORE])])
    ingest_files(lake, contracts, con, [land("customers", "c.csv", [CUST])])
    orders = [f"O{i:04d},C1,S1,2024-01-10T10:00:00,placed,2024-01-10T10:00:00" for i in range(400)]
    ingest_files(lake, contracts, con, [land("orders", "o.csv", orders)])
    build_silver(lake, contracts, con, PII_KEY, chunk_rows=100)

    actions = pa.table(lake.delta("silver.orders").get_add_actions(flatten=True)).to_pylist()
    ranges = sorted((a["min.order_id"], a["max.order_id"], a["num_records"]) for a in actions)
    assert len(ranges) >= 3
    assert sum(n for _, _, n in ranges) == 400
    for (_, high, _), (low, _, _) in pairwise(ranges):
        assert high < low  # disjoint ranges, in key order
    assert max(n for _, _, n in ranges) < 200  # about 100 rows each

    update = "O0150,C1,S1,2024-01-10T10:00:00,shipped,2024-01-11T10:00:00"
    new = "O9999,C1,S1,2024-01-11T10:00:00,placed,2024-01-11T10:00:00"
    ingest_files(lake, contracts, con, [land("orders", "o2.csv", [update, new])])
    before = set(lake.delta("silver.orders").file_uris())
    build_silver(lake, contracts, con, PII_KEY, chunk_rows=100)

    after = set(lake.delta("silver.orders").file_uris())
    assert len(before - after) == 1  # the one file whose range holds O0150
    assert len(after - before) == 2  # its rewrite, and the appended O9999
    current = {r["order_id"]: r["status"] for r in rows(lake, "silver.orders")}
    assert len(current) == 401
    assert current["O0150"] == "shipped"
    assert current["O9999"] == "placed"
    assert_reconciles(lake, "orders")


def test_chunks_are_sized_to_duckdbs_memory_limit_by_default(
    land, lake, contracts, con, monkeypatch
):
    """Without `chunk_rows`, a build reads about CHUNK_ROWS_PER_GB rows per GB of DuckDB's
    memory limit at a time: 500,000 at the 768 MB a 1.5 GB instance gives DuckDB."""
    assert default_chunk_rows(duckdb.connect(config={"memory_limit": "768MB"})) == pytest.approx(
        500_000, rel=0.01
    )
    con.execute("SET memory_limit = '1GB'")
    monkeypatch.setattr(build, "CHUNK_ROWS_PER_GB", 100)
    ingest_files(lake, contracts, con, [land("stores", "s.csv", [STORE])])
    ingest_files(lake, contracts, con, [land("customers", "c.csv", [CUST])])
    orders = [f"O{i:04d},C1,S1,2024-01-10T10:00:00,placed,2024-01-10T10:00:00" for i in range(400)]
    ingest_files(lake, contracts, con, [land("orders", "o.csv", orders)])
    build_silver(lake, contracts, con, PII_KEY)

    files = lake.delta("silver.orders").get_add_actions(flatten=True).num_rows
    assert files >= 3  # about 100 rows each, one file per chunk
    assert len(rows(lake, "silver.orders")) == 400
    assert_reconciles(lake, "orders")
