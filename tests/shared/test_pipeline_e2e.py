"""End to end on generated data: landing files -> Bronze -> Silver, delivered day by day.

Every figure pinned here follows from `OPTIONS` (seeded generator, fixed end date) and a
fixed build clock; the landing files are read back independently of the pipeline's readers
(`tests/shared/generate/landing_reader.py`).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from providers.storage import LocalStorage
from shared import jobs
from shared.contracts import ContractSet
from shared.engine import connect
from shared.generate import GenerateOptions, GenerateResult, generate
from shared.ingest import LANDING, REJECTED, IngestResult, LandingFile, ingest_files
from shared.lake import Lake
from shared.ops import (
    DQ_RESULTS,
    DROPPED_ROWS,
    INGEST_LEDGER,
    PROCESSED_BATCHES,
    RUNS,
    utcnow,
)
from shared.scoring import load_ground_truth
from shared.settings import Settings
from shared.silver.build import SilverResult, build_silver
from tests.conftest import PII_KEY
from tests.shared.generate.landing_reader import read_file
from tests.shared.pinned import END, INJECTED, OPTIONS, VOLATILE
from tests.shared.silver.helpers import (
    assert_reconciles,
    assert_scd2_invariants,
    dropped,
    held,
    lineage_fates,
    rows,
)

TABLES = ("customers", "products", "stores", "orders", "order_lines")
SCD2_KEYS = {"customers": "customer_id", "products": "product_id"}
OPS_TABLES = (RUNS, INGEST_LEDGER, DQ_RESULTS, PROCESSED_BATCHES, DROPPED_ROWS)
# What the generator writes for OPTIONS (landing rows per table, defects per kind).
LANDING_ROWS = {
    "customers": 491,
    "products": 131,
    "stores": 13,
    "orders": 435,
    "order_lines": 454,
}
# Where those rows end up after the six daily builds: Silver rows, active quarantine rows,
# released quarantine rows (late references whose parent arrived) and dropped rows.
SILVER_ROWS = {"customers": 467, "products": 125, "stores": 12, "orders": 206, "order_lines": 432}
HELD_ROWS = {"customers": 20, "products": 5, "stores": 1, "orders": 18, "order_lines": 18}
RELEASED_ROWS = {"customers": 0, "products": 0, "stores": 0, "orders": 3, "order_lines": 0}
DROPPED = {
    "customers": {"exact_duplicate": 4},
    "products": {"exact_duplicate": 1},
    "stores": {},
    "orders": {"exact_duplicate": 1, "superseded": 210},
    "order_lines": {"exact_duplicate": 4},
}


# Distinct e-mail and phone values in the customers files, and with their trimmed and
# lower-cased forms (the generator adds case and whitespace noise to e-mails).
LANDED_PII, PII_VARIANTS = 889, 919


def build_clock(day: str) -> datetime:
    """The timer's build clock: the morning after a delivery day. A fixed clock keeps the
    `order_ts_not_future` check independent of the day the tests run."""
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(6))


def delivery_day(path: Path) -> str:
    return path.name.split("_", 1)[0]


def lake_file(landing: Path, path: Path) -> LandingFile:
    name = f"{LANDING}/{path.relative_to(landing).as_posix()}"
    return LandingFile(name, str(path), name)


@dataclass
class Delivered:
    """A lake fed with the generated files, and what every step reported."""

    lake: Lake
    generated: GenerateResult
    days: list[tuple[str, list[LandingFile]]]
    ingests: list[list[IngestResult]] = field(default_factory=list)
    reingests: list[list[IngestResult]] = field(default_factory=list)
    builds: list[SilverResult] = field(default_factory=list)
    rebuilds: list[SilverResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Reconciliation or SCD2 failures seen after any build, with the day."""


def _new_lake(root: Path, contracts: ContractSet) -> tuple[Delivered, Any]:
    generated = generate(root / LANDING, OPTIONS)
    landing = root / LANDING
    days = [
        (day, [lake_file(landing, p) for p in files])
        for day, files in groupby(generated.files, key=delivery_day)
    ]
    lake = Lake(LocalStorage(str(root)))
    con = connect(Settings.from_env({}, lake_url=str(root)))
    return Delivered(lake, generated, days), con


def _check(run: Delivered, day: str) -> None:
    for table in TABLES:
        try:
            assert_reconciles(run.lake, table)
        except AssertionError as exc:
            run.problems.append(f"{day}: {exc}")
    for table, key in SCD2_KEYS.items():
        try:
            assert_scd2_invariants(run.lake, table, key)
        except AssertionError as exc:
            run.problems.append(f"{day}: {table}: {exc}")


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory, contracts: ContractSet) -> Delivered:
    """Deliver a day's files, build Silver, check reconciliation; for each of the days."""
    run, con = _new_lake(tmp_path_factory.mktemp("daily"), contracts)
    for day, files in run.days:
        run.ingests.append(ingest_files(run.lake, contracts, con, files))
        run.builds.append(build_silver(run.lake, contracts, con, PII_KEY, now=build_clock(day)))
        _check(run, day)
    con.close()
    return run


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory, contracts: ContractSet) -> Delivered:
    """The same deliveries, every file ingested twice and Silver built twice per day."""
    run, con = _new_lake(tmp_path_factory.mktemp("twice"), contracts)
    for day, files in run.days:
        run.ingests.append(ingest_files(run.lake, contracts, con, files))
        run.reingests.append(ingest_files(run.lake, contracts, con, files))
        run.builds.append(build_silver(run.lake, contracts, con, PII_KEY, now=build_clock(day)))
        run.rebuilds.append(build_silver(run.lake, contracts, con, PII_KEY, now=build_clock(day)))
        _check(run, day)
    con.close()
    return run


@pytest.fixture(scope="module")
def all_at_once(tmp_path_factory: pytest.TempPathFactory, contracts: ContractSet) -> Delivered:
    """Every day ingested first, then one Silver build."""
    run, con = _new_lake(tmp_path_factory.mktemp("once"), contracts)
    for _, files in run.days:
        run.ingests.append(ingest_files(run.lake, contracts, con, files))
    run.builds.append(
        build_silver(run.lake, contracts, con, PII_KEY, now=build_clock(run.days[-1][0]))
    )
    _check(run, "single build")
    con.close()
    return run


def landing_rows(generated: GenerateResult) -> dict[str, list[dict[str, str | None]]]:
    """Rows of every landing file, read with the standard library and pyarrow only."""
    return {
        f"{LANDING}/{p.relative_to(generated.landing_dir).as_posix()}": read_file(p)
        for p in generated.files
    }


def comparable(lake: Lake, table: str) -> list[str]:
    """A table's rows without volatile columns, as sorted JSON texts."""
    if table.startswith("dropped."):
        data = dropped(lake, table.removeprefix("dropped."))
    else:
        data = rows(lake, table)
    return sorted(
        json.dumps({k: v for k, v in r.items() if k not in VOLATILE}, default=str, sort_keys=True)
        for r in data
    )


def compared_tables() -> list[str]:
    return [f"{kind}.{t}" for t in TABLES for kind in ("silver", "quarantine", "dropped")]


# --- generator and landing side --------------------------------------------------------


def test_generated_deliveries_are_the_pinned_six_days(daily: Delivered) -> None:
    assert [day for day, _ in daily.days] == [f"2026-01-{d}" for d in (26, 27, 28, 29, 30, 31)]
    assert [len(files) for _, files in daily.days] == [7, 6, 6, 6, 6, 5]
    assert daily.generated.rows == LANDING_ROWS
    assert daily.generated.defects == INJECTED


def test_landing_rows_equal_bronze_rows_plus_rejected_rows(daily: Delivered) -> None:
    per_file = {name: len(data) for name, data in landing_rows(daily.generated).items()}
    per_table = Counter()
    for name, n in per_file.items():
        per_table[name.split("/")[2]] += n
    assert dict(per_table) == LANDING_ROWS

    results = [r for day in daily.ingests for r in day]
    assert Counter(r.status for r in results) == {"loaded": 36}
    rejected_rows = sum(per_file[r.source_file] for r in results if r.status == "rejected")
    assert rejected_rows == 0
    assert {r.source_file: r.rows for r in results} == per_file

    bronze_per_file: Counter[str] = Counter()
    for table in TABLES:
        data = daily.lake.read(f"bronze.{table}", columns=["_source_file"])
        assert data.num_rows == LANDING_ROWS[table]
        bronze_per_file.update(data.column("_source_file").to_pylist())
    assert dict(bronze_per_file) == per_file
    assert sum(per_file.values()) == sum(bronze_per_file.values()) + rejected_rows == 1524

    ledger = daily.lake.read(INGEST_LEDGER).to_pylist()
    assert {r["source_file"]: (r["status"], r["rows"]) for r in ledger} == {
        name: ("loaded", n) for name, n in per_file.items()
    }


# --- reconciliation -------------------------------------------------------------------


def test_every_bronze_row_is_counted_once_after_every_build(daily: Delivered) -> None:
    assert len(daily.builds) == 6
    assert daily.problems == []


def test_final_fates_of_bronze_rows(daily: Delivered) -> None:
    for table in TABLES:
        fates = Counter(f for fs in lineage_fates(daily.lake, table).values() for f in fs)
        expected = Counter(
            {"silver": SILVER_ROWS[table], "quarantine": HELD_ROWS[table], **DROPPED[table]}
        )
        assert fates == +expected, table
        assert sum(fates.values()) == LANDING_ROWS[table]
        all_held = held(daily.lake, table, active_only=False)
        assert sum(r["status"] == "released" for r in all_held) == RELEASED_ROWS[table], table


def test_per_run_counts_reconcile(daily: Delivered) -> None:
    read_as_new: Counter[str] = Counter()
    for build in daily.builds:
        assert build.status == "succeeded"
        assert [t.table for t in build.tables] == [
            "customers",
            "stores",
            "orders",
            "products",
            "order_lines",
        ]
        for t in build.tables:
            assert t.rows_read == (
                t.silver + t.quarantined + t.duplicates + t.superseded + t.applied
            ), t
            assert t.applied == 0, t
            assert t.stale <= t.quarantined, t
            assert t.released <= t.rechecked, t
            read_as_new[t.table] += t.rows_read
    # Every Bronze row is read as new by exactly one build.
    assert dict(read_as_new) == LANDING_ROWS
    # The first day, as reported by the build (rows read, silver, quarantined, duplicates).
    first = {
        t.table: (t.rows_read, t.silver, t.quarantined, t.duplicates)
        for t in daily.builds[0].tables
    }
    assert first == {
        "customers": (406, 389, 14, 3),
        "stores": (13, 12, 1, 0),
        "orders": (45, 41, 3, 1),
        "products": (122, 118, 4, 0),
        "order_lines": (90, 86, 4, 0),
    }
    released = [sum(t.released for t in b.tables) for b in daily.builds]
    assert released == [0, 0, 0, 2, 0, 1]


def test_scd2_history_is_kept_for_customers_and_products(daily: Delivered) -> None:
    for table, key in SCD2_KEYS.items():
        versions = rows(daily.lake, f"silver.{table}")
        assert len(versions) == SILVER_ROWS[table]
        current = [r for r in versions if r["is_current"]]
        assert len({r[key] for r in current}) == len(current)
    customers = rows(daily.lake, "silver.customers")
    assert sum(not r["is_current"] for r in customers) > 0, "no customer history was opened"


# --- idempotency and order independence -----------------------------------------------


def test_second_ingest_is_duplicate_and_second_build_is_noop(twice: Delivered) -> None:
    assert twice.problems == []
    for first, again in zip(twice.ingests, twice.reingests, strict=True):
        assert all(r.status == "loaded" for r in first)
        assert [r.status for r in again] == ["duplicate"] * len(first)
        assert [r.batch_id for r in again] == [r.batch_id for r in first]
        assert all(r.rows == 0 for r in again)
    for build in twice.rebuilds:
        assert build.status == "noop"
        assert all(t.noop and t.rows_read == 0 for t in build.tables)
    # Duplicates leave no trace in the ingest ledger and Bronze holds each file once.
    ledger = twice.lake.read(INGEST_LEDGER)
    assert ledger.num_rows == 36
    for table, n in LANDING_ROWS.items():
        assert twice.lake.read(f"bronze.{table}").num_rows == n


def test_ingesting_and_building_twice_gives_the_same_lake(
    daily: Delivered, twice: Delivered
) -> None:
    for table in compared_tables():
        assert comparable(twice.lake, table) == comparable(daily.lake, table), table


def test_building_once_gives_the_same_silver_as_building_daily(
    daily: Delivered, all_at_once: Delivered
) -> None:
    assert all_at_once.problems == []
    for table in TABLES:
        assert comparable(all_at_once.lake, f"silver.{table}") == comparable(
            daily.lake, f"silver.{table}"
        ), table
        assert comparable(all_at_once.lake, f"dropped.{table}") == comparable(
            daily.lake, f"dropped.{table}"
        ), table


def test_building_once_differs_only_by_late_references_never_held(
    daily: Delivered, all_at_once: Delivered
) -> None:
    """The one legitimate difference: an order whose customer arrives a day or two later
    waits in quarantine when built daily (then is released), while a single build over all
    days finds the customer already there and never holds it."""
    for table in TABLES:
        released = [
            r for r in held(daily.lake, table, active_only=False) if r["status"] == "released"
        ]
        daily_held = comparable(daily.lake, f"quarantine.{table}")
        once_held = comparable(all_at_once.lake, f"quarantine.{table}")
        assert len(daily_held) - len(once_held) == len(released) == RELEASED_ROWS[table]
        assert all(r["rule_id"] == "orders.customer_exists" for r in released)
        released_lineage = {(r["_batch_id"], r["_row_number"]) for r in released}
        kept = [
            x
            for x in daily_held
            if (json.loads(x)["_batch_id"], json.loads(x)["_row_number"]) not in released_lineage
        ]
        assert kept == once_held, table
    assert all(
        r["status"] != "released"
        for t in TABLES
        for r in held(all_at_once.lake, t, active_only=False)
    )


# --- late references ------------------------------------------------------------------


def test_late_references_are_released_into_silver(daily: Delivered) -> None:
    truth = load_ground_truth(daily.generated.ground_truth)
    late = {
        (f"{LANDING}/{t['file']}", int(t["row"])) for t in truth if t["defect"] == "late_reference"
    }
    released = [r for r in held(daily.lake, "orders", False) if r["status"] == "released"]
    assert len(released) == 3
    assert {(r["_source_file"], r["_row_number"]) for r in released} == late
    silver_orders = {r["order_id"]: r for r in rows(daily.lake, "silver.orders")}
    silver_customers = {r["customer_id"] for r in rows(daily.lake, "silver.customers")}
    for r in released:
        assert r["released_run_id"] and r["released_at"] is not None
        assert r["order_id"] in silver_orders
        assert silver_orders[r["order_id"]]["customer_id"] in silver_customers
    # Orphans (parents that never arrive) are still held, waiting within their grace period.
    orphans = [
        r
        for r in held(daily.lake, "orders")
        if r["rule_id"] in ("orders.customer_exists", "orders.store_exists")
    ]
    assert orphans and all(r["status"] == "pending" and r["retryable"] for r in orphans)


def test_orphans_wait_pending_then_count_as_bad_after_the_grace_period(
    daily: Delivered, contracts: ContractSet, tmp_path: Path
) -> None:
    truth = load_ground_truth(daily.generated.ground_truth)
    orphans = {
        (f"{LANDING}/{t['file']}", int(t["row"]))
        for t in truth
        if t["defect"] == "orphan_reference"
    }
    assert len(orphans) == 5

    def waiting(lake: Lake) -> dict[tuple[str, int], str]:
        return {
            (r["_source_file"], r["_row_number"]): r["status"]
            for t in ("orders", "order_lines")
            for r in held(lake, t)
            if r["retryable"]
        }

    assert waiting(daily.lake) == dict.fromkeys(orphans, "pending")
    # On a copy of the lake: a build more than the 72h grace after the rows were ingested.
    shutil.copytree(daily.generated.landing_dir.parent, tmp_path / "lake")
    lake = Lake(LocalStorage(str(tmp_path / "lake")))
    con = connect(Settings.from_env({}, lake_url=str(tmp_path / "lake")))
    late = build_silver(lake, contracts, con, PII_KEY, now=utcnow() + timedelta(days=4))
    con.close()
    assert {t.table: (t.rechecked, t.released) for t in late.tables if t.rechecked} == {
        "orders": (1, 0),
        "order_lines": (4, 0),
    }
    assert waiting(lake) == dict.fromkeys(orphans, "quarantined")
    for table in TABLES:
        assert_reconciles(lake, table)
        assert comparable(lake, f"silver.{table}") == comparable(daily.lake, f"silver.{table}")


# --- PII --------------------------------------------------------------------------------


def _pii_values(generated: GenerateResult) -> tuple[set[str], set[str]]:
    """E-mails and phones as landed, and those plus their trimmed and lower-cased forms."""
    landed: set[str] = set()
    for name, data in landing_rows(generated).items():
        if "/customers/" in name:
            landed |= {r[c] for r in data for c in ("email", "phone") if r[c] and r[c].strip()}
    variants = landed | {v.strip() for v in landed} | {v.strip().lower() for v in landed}
    return landed, variants


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        if value[:1] in "{[":
            try:
                parsed = json.loads(value)
            except ValueError:
                return
            yield from _strings(parsed)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _text_of(table: pa.Table) -> list[str]:
    """Every text in a table: string values, list items, and the values inside JSON texts
    (raw rows, run details), whatever the column's Arrow type."""
    texts: list[str] = []
    for column in table.columns:
        for value in column.to_pylist():
            texts.extend(_strings(value))
    return texts


def test_no_raw_email_or_phone_below_bronze(daily: Delivered) -> None:
    landed, pii = _pii_values(daily.generated)
    assert (len(landed), len(pii)) == (LANDED_PII, PII_VARIANTS)
    # Bronze holds them as landed: the control that the scan below would find them.
    assert landed <= set(_text_of(daily.lake.read("bronze.customers")))
    scanned = [f"{layer}.{t}" for layer in ("silver", "quarantine") for t in TABLES]
    scanned += list(OPS_TABLES)
    haystack = []
    for name in scanned:
        data = daily.lake.read(name)
        if data is not None:
            haystack += _text_of(data)
    assert len(haystack) > 10_000
    exact = pii & set(haystack)
    assert not exact, sorted(exact)[:5]
    # Also embedded anywhere in a text (a reason, a JSON raw row, run details).
    blob = "\n".join(haystack)
    embedded = sorted(v for v in pii if v in blob)
    assert not embedded, embedded[:5]


def test_quarantined_customers_carry_hashed_pii_in_raw_row(daily: Delivered) -> None:
    held_customers = held(daily.lake, "customers")
    assert len(held_customers) == HELD_ROWS["customers"]
    silver_hashes = {r["email"] for r in rows(daily.lake, "silver.customers")}
    for r in held_customers:
        raw = json.loads(r["raw_row"])
        for column in ("email", "phone"):
            assert raw[column] is None or (
                len(raw[column]) == 64 and set(raw[column]) <= set("0123456789abcdef")
            ), raw
    # Hashes are keyed and stable: every Silver e-mail is a 64-hex digest.
    assert all(h is None or len(h) == 64 for h in silver_hashes)


# --- bad files --------------------------------------------------------------------------


def test_bad_files_are_rejected_whole_and_moved_aside(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {}, lake_url=str(tmp_path / "lake"), secrets_dir=tmp_path / "secrets"
    )
    landing = tmp_path / "lake" / LANDING
    generated = generate(landing, GenerateOptions(days=1, orders_per_day=20, end_date=END))
    # A JSONL orders file cut off in the middle of its last line.
    good_orders = next(p for p in generated.files if "/orders/" in p.as_posix())
    orders = [json.dumps(r) for r in read_file(good_orders)]
    truncated = "\n".join(orders[:3]) + "\n" + orders[3][: len(orders[3]) // 2]
    bad_jsonl = landing / "pos" / "orders" / "2026-02-01_orders_01.jsonl"
    bad_jsonl.write_text(truncated, encoding="utf-8")
    # A customers CSV without the required updated_at column.
    bad_csv = landing / "crm" / "customers" / "2026-02-01_customers_01.csv"
    bad_csv.write_text(
        "customer_id,first_name,last_name,email,phone,city,country,loyalty_tier,signup_date\n"
        "C999001,Ann,Lee,ann@example.com,+44 1,London,GB,gold,2024-01-01\n",
        encoding="utf-8",
    )

    results = jobs.ingest_paths(settings, [])
    by_file = {r.source_file: r for r in results}
    jsonl_name = "landing/pos/orders/2026-02-01_orders_01.jsonl"
    csv_name = "landing/crm/customers/2026-02-01_customers_01.csv"
    assert Counter(r.status for r in results) == {"loaded": len(generated.files), "rejected": 2}
    assert by_file[jsonl_name].status == "rejected"
    assert "cannot parse" in by_file[jsonl_name].reason
    assert by_file[csv_name].status == "rejected"
    assert "lacks required column(s) updated_at" in by_file[csv_name].reason

    for name, path in ((jsonl_name, bad_jsonl), (csv_name, bad_csv)):
        assert not path.exists()
        moved = tmp_path / "lake" / REJECTED / name.removeprefix(f"{LANDING}/")
        assert moved.is_file()
        reason = Path(f"{moved}.reason.txt").read_text(encoding="utf-8")
        assert reason.strip() == by_file[name].reason

    lake = Lake(LocalStorage(str(tmp_path / "lake")))
    ledger = {r["source_file"]: r for r in lake.read(INGEST_LEDGER).to_pylist()}
    for name in (jsonl_name, csv_name):
        assert ledger[name]["status"] == "rejected"
        assert ledger[name]["rows"] == 0
        assert ledger[name]["batch_id"] is None
        assert ledger[name]["reason"] == by_file[name].reason
    # Nothing of the bad files reached Bronze: it holds exactly the generated rows.
    for table in TABLES:
        data = lake.read(f"bronze.{table}", columns=["_source_file"])
        assert data.num_rows == generated.rows[table]
        assert not {jsonl_name, csv_name} & set(data.column("_source_file").to_pylist())
    # The loaded files' rows, read back independently, are exactly Bronze's rows.
    landed = sum(len(read_file(p)) for p in generated.files)
    assert (
        landed
        == sum(generated.rows.values())
        == sum(lake.read(f"bronze.{t}", columns=["_row_number"]).num_rows for t in TABLES)
    )

    # Ingesting the landing zone again skips `_rejected/` and finds nothing new.
    again = jobs.ingest_paths(settings, [])
    assert Counter(r.status for r in again) == {"duplicate": len(generated.files)}
