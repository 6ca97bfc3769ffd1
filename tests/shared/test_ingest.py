"""Bronze ingest: files land whole as text rows with metadata, idempotently per content; bad
files are rejected whole, recorded and moved aside."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shared.contracts import ContractSet, load_contracts
from shared.errors import FileRejectedError
from shared.ingest import METADATA_COLUMNS, IngestResult, LandingFile, discover, ingest_files
from shared.lake import Lake
from shared.ops import INGEST_LEDGER, RUNS
from shared.settings import PACKAGE_ROOT
from tests.conftest import COLUMNS, csv_text

ORDER_ROWS = [
    ["007", "c1", "s1", "2024-01-02 10:00:00", "placed", "2024-01-02 10:00:00"],
    ["008", "c2", "s1", "2024-01-03 11:00:00", "", "2024-01-03 11:00:00"],
]
ORDER_COLUMNS = COLUMNS["orders"].split(",")


def put(lake: Lake, path: str, body: str | bytes) -> LandingFile:
    """A file in the lake at `path` (lake-relative), as discover() would list it."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    lake.storage.write_bytes(path, data)
    return LandingFile(path, lake.storage.local_path(path), path)


def bronze(lake: Lake, table: str = "orders") -> list[dict]:
    data = lake.read(f"bronze.{table}")
    assert data is not None, f"bronze.{table} does not exist"
    return sorted(data.to_pylist(), key=lambda r: (r["_batch_id"], r["_row_number"]))


def ledger(lake: Lake) -> list[dict]:
    data = lake.read(INGEST_LEDGER)
    return [] if data is None else data.to_pylist()


def version(lake: Lake, table: str) -> int:
    delta = lake.delta(table)
    assert delta is not None
    return delta.version()


def sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- loading -------------------------------------------------------------------------------


def test_file_loads_into_bronze_as_text_with_metadata(land, lake, contracts, con) -> None:
    file = land("orders", "o1.csv", ORDER_ROWS)
    seen: list[IngestResult] = []

    (result,) = ingest_files(lake, contracts, con, [file], progress=seen.append)

    digest = sha(file.local_path)
    assert result == IngestResult(
        "landing/src/orders/o1.csv", "loaded", "orders", digest[:32], 2, None, {}
    )
    assert seen == [result]
    data = lake.read("bronze.orders")
    assert data.column_names == [*ORDER_COLUMNS, *METADATA_COLUMNS]
    for name in [*ORDER_COLUMNS, "_batch_id", "_source_file"]:
        assert data.schema.field(name).type in (pa.string(), pa.large_string()), name
    assert data.schema.field("_ingested_at").type.unit == "us"
    assert data.schema.field("_row_number").type == pa.int64()
    rows = bronze(lake)
    business = [{c: r[c] for c in ORDER_COLUMNS} for r in rows]
    assert business == [dict(zip(ORDER_COLUMNS, row, strict=True)) for row in ORDER_ROWS]
    assert [r["_row_number"] for r in rows] == [1, 2]
    assert {r["_batch_id"] for r in rows} == {digest[:32]}
    assert {r["_source_file"] for r in rows} == {"landing/src/orders/o1.csv"}
    assert len({r["_ingested_at"] for r in rows}) == 1
    # a loaded file stays where it is
    assert lake.storage.exists("landing/src/orders/o1.csv")


def test_load_is_recorded_in_the_ledger_and_the_run_table(land, lake, contracts, con) -> None:
    file = land("orders", "o1.csv", ORDER_ROWS)
    ingest_files(lake, contracts, con, [file])

    (entry,) = ledger(lake)
    runs = lake.read(RUNS).to_pylist()
    assert len(runs) == 1
    (run,) = runs
    assert {k: v for k, v in entry.items() if k != "ingested_at"} == {
        "source_file": "landing/src/orders/o1.csv",
        "content_sha256": sha(file.local_path),
        "table_name": "orders",
        "batch_id": sha(file.local_path)[:32],
        "status": "loaded",
        "rows": 2,
        "reason": None,
        "schema_drift": None,
        "run_id": run["run_id"],
    }
    assert run["job"] == "ingest"
    assert run["run_id"].startswith("ingest-")
    assert run["status"] == "succeeded"
    assert (run["rows_read"], run["rows_written"], run["rows_quarantined"]) == (2, 2, 0)
    assert json.loads(run["details"]) == {"duplicate": 0, "loaded": 1, "rejected": 0}
    assert run["error"] is None
    assert run["started_at"] <= run["finished_at"]


def test_no_files_records_no_run(lake, contracts, con) -> None:
    assert ingest_files(lake, contracts, con, []) == []
    assert lake.read(RUNS) is None


def test_jsonl_and_parquet_load_as_text(lake, contracts, con, tmp_path) -> None:
    jsonl = put(
        lake,
        "landing/crm/stores/s.jsonl",
        '{"store_id": 7, "store_name": "Main", "city": "Leeds", "country": "GB", '
        '"channel": "store"}\n{"store_id": "007", "store_name": "Web", "country": "GB", '
        '"channel": "web", "city": null}\n',
    )
    parquet_path = "landing/crm/products/p.parquet"
    products = pa.table(
        {
            "product_id": ["P1"],
            "product_name": ["Mug"],
            "category": ["Home"],
            "unit_cost": pa.array([2.5]),
            "unit_price": pa.array([7], pa.int32()),
            "updated_at": ["2024-01-01T00:00:00"],
        }
    )
    local = lake.storage.local_path(parquet_path)
    Path(local).parent.mkdir(parents=True)
    pq.write_table(products, local)
    parquet = LandingFile(parquet_path, local, parquet_path)

    results = ingest_files(lake, contracts, con, [jsonl, parquet])

    assert [(r.status, r.table, r.rows) for r in results] == [
        ("loaded", "stores", 2),
        ("loaded", "products", 1),
    ]
    stores = [{k: r[k] for k in COLUMNS["stores"].split(",")} for r in bronze(lake, "stores")]
    assert sorted(stores, key=lambda r: r["store_name"]) == [
        {
            "store_id": "7",
            "store_name": "Main",
            "city": "Leeds",
            "country": "GB",
            "channel": "store",
        },
        {"store_id": "007", "store_name": "Web", "city": None, "country": "GB", "channel": "web"},
    ]
    (product,) = bronze(lake, "products")
    assert (product["unit_cost"], product["unit_price"], product["_row_number"]) == ("2.5", "7", 1)


def test_header_is_matched_case_insensitively(lake, contracts, con) -> None:
    header = " Order ID ,Customer ID,store-id,ORDER_TS,Status,Updated At"
    body = header + "\n" + ",".join(ORDER_ROWS[0]) + "\n"
    (result,) = ingest_files(lake, contracts, con, [put(lake, "landing/p/orders/h.csv", body)])
    assert (result.status, result.drift) == ("loaded", {})
    (row,) = bronze(lake)
    assert row["order_id"] == "007"
    assert row["updated_at"] == "2024-01-02 10:00:00"


# --- idempotency ---------------------------------------------------------------------------


def test_same_content_again_is_a_duplicate_and_changes_nothing(land, lake, contracts, con) -> None:
    file = land("orders", "o1.csv", ORDER_ROWS)
    (first,) = ingest_files(lake, contracts, con, [file])
    state = (
        bronze(lake),
        ledger(lake),
        version(lake, "bronze.orders"),
        version(lake, INGEST_LEDGER),
    )

    (again,) = ingest_files(lake, contracts, con, [file])

    assert again == IngestResult(file.name, "duplicate", "orders", first.batch_id, 0, None, {})
    assert (
        bronze(lake),
        ledger(lake),
        version(lake, "bronze.orders"),
        version(lake, INGEST_LEDGER),
    ) == state
    assert len(state[0]) == 2
    assert len(state[1]) == 1
    runs = lake.read(RUNS).to_pylist()
    assert sorted(json.loads(r["details"])["duplicate"] for r in runs) == [0, 1]


def test_same_content_under_another_name_is_a_duplicate(land, lake, contracts, con) -> None:
    first = land("orders", "o1.csv", ORDER_ROWS)
    copy = land("orders", "copy-of-o1.csv", ORDER_ROWS, source="web")
    results = ingest_files(lake, contracts, con, [first, copy])
    assert [r.status for r in results] == ["loaded", "duplicate"]
    assert results[1].batch_id == results[0].batch_id
    assert results[1].source_file == "landing/web/orders/copy-of-o1.csv"
    assert len(bronze(lake)) == 2
    assert len(ledger(lake)) == 1
    # a later run still knows the content
    (later,) = ingest_files(lake, contracts, con, [land("orders", "o3.csv", ORDER_ROWS)])
    assert later.status == "duplicate"
    assert len(bronze(lake)) == 2


def test_different_content_appends_a_new_batch(land, lake, contracts, con) -> None:
    one = land("orders", "o1.csv", ORDER_ROWS[:1])
    two = land("orders", "o2.csv", ORDER_ROWS[1:])
    results = ingest_files(lake, contracts, con, [one, two])
    assert [(r.status, r.rows) for r in results] == [("loaded", 1), ("loaded", 1)]
    rows = bronze(lake)
    assert sorted((r["_source_file"], r["_row_number"]) for r in rows) == [
        ("landing/src/orders/o1.csv", 1),
        ("landing/src/orders/o2.csv", 1),
    ]
    assert len({r["_batch_id"] for r in rows}) == 2


def test_bronze_append_without_ledger_row_is_not_loaded_twice(land, lake, contracts, con) -> None:
    file = land("orders", "o1.csv", ORDER_ROWS)
    (first,) = ingest_files(lake, contracts, con, [file])
    bronze_version = version(lake, "bronze.orders")
    # A crash between the Bronze commit and the ledger append: the ledger never saw it.
    shutil.rmtree(Path(lake.storage.local_path("")) / "_ops" / "ingest_ledger")
    lake = Lake(lake.storage)  # the next job starts afresh
    assert lake.read(INGEST_LEDGER) is None

    (again,) = ingest_files(lake, contracts, con, [file])

    # Nothing is added to Bronze (so the file counts as a duplicate), but the ledger is
    # completed.
    assert (again.status, again.batch_id) == ("duplicate", first.batch_id)
    assert len(bronze(lake)) == 2
    assert version(lake, "bronze.orders") == bronze_version
    (entry,) = ledger(lake)
    assert (entry["status"], entry["batch_id"], entry["rows"]) == ("loaded", first.batch_id, 2)
    # and from now on it is a plain duplicate
    (third,) = ingest_files(lake, contracts, con, [file])
    assert third.status == "duplicate"
    assert len(ledger(lake)) == 1


def test_files_of_one_table_are_committed_together(land, lake, contracts, con) -> None:
    files = [
        land("orders", "o1.csv", ORDER_ROWS[:1]),
        land("stores", "s1.csv", ["s1,Main,Leeds,GB,store"]),
        land("orders", "o2.csv", ORDER_ROWS[1:]),
        put(
            lake,
            "landing/web/orders/o3.jsonl",
            json.dumps(
                dict(
                    zip(
                        reversed(ORDER_COLUMNS),
                        ["u", "placed", "t", "s9", "c9", "009"],
                        strict=True,
                    )
                )
            )
            + "\n",
        ),
    ]
    results = ingest_files(lake, contracts, con, files)
    assert [(r.source_file.rsplit("/", 1)[1], r.status, r.table) for r in results] == [
        ("o1.csv", "loaded", "orders"),
        ("s1.csv", "loaded", "stores"),
        ("o2.csv", "loaded", "orders"),
        ("o3.jsonl", "loaded", "orders"),
    ]
    # The table is created by an empty commit (version 0), then one commit carries the
    # three order files.
    assert version(lake, "bronze.orders") == 1
    rows = bronze(lake)
    assert sorted((r["order_id"], r["customer_id"], r["_row_number"]) for r in rows) == [
        ("007", "c1", 1),
        ("008", "c2", 1),
        ("009", "c9", 1),
    ]
    assert len(ledger(lake)) == 4


def test_a_full_stage_is_committed_early(land, lake, contracts, con, monkeypatch) -> None:
    monkeypatch.setattr("shared.ingest.MAX_STAGED_FILES", 2)
    files = [land("orders", f"o{i}.csv", [[f"{i}", *ORDER_ROWS[0][1:]]]) for i in range(3)]
    results = ingest_files(lake, contracts, con, files)
    assert [r.status for r in results] == ["loaded"] * 3
    assert version(lake, "bronze.orders") == 2  # after creation: files 0-1, then file 2
    assert sorted(r["order_id"] for r in bronze(lake)) == ["0", "1", "2"]
    assert len(ledger(lake)) == 3


def test_files_parsed_while_earlier_ones_commit_lose_nothing(
    land, lake, contracts, con, monkeypatch
) -> None:
    # One file per commit: every commit runs beside the parsing of the next file, and a
    # rejected file between them keeps its ledger row.
    monkeypatch.setattr("shared.ingest.MAX_STAGED_FILES", 1)
    files = [land("orders", f"o{i}.csv", [[f"{i}", *ORDER_ROWS[0][1:]]]) for i in range(4)]
    files.insert(2, put(lake, "landing/pos/orders/empty.csv", ""))
    seen: list[IngestResult] = []

    results = ingest_files(lake, contracts, con, files, progress=seen.append)

    assert [r.status for r in results] == ["loaded", "loaded", "rejected", "loaded", "loaded"]
    assert sorted(r.source_file for r in seen) == sorted(f.name for f in files)
    assert sorted(r["order_id"] for r in bronze(lake)) == ["0", "1", "2", "3"]
    assert sorted((e["source_file"], e["status"]) for e in ledger(lake)) == sorted(
        (f.name, "rejected" if f.name.endswith("empty.csv") else "loaded") for f in files
    )


def test_arrival_follows_file_order_when_a_later_file_parses_first(
    land, lake, contracts, con, monkeypatch
) -> None:
    # Files are parsed two at a time; arrival order (which decides which of two versions
    # of a row came first) must still be the order of the files.
    import shared.ingest as ingest_module

    real = ingest_module.read_landing_file

    def slow_first(con: object, path: str, name: str) -> pa.Table:
        if name.endswith("o0.csv"):
            time.sleep(0.3)
        return real(con, path, name)

    monkeypatch.setattr(ingest_module, "read_landing_file", slow_first)
    files = [land("orders", f"o{i}.csv", [[f"{i}", *ORDER_ROWS[0][1:]]]) for i in range(3)]
    ingest_files(lake, contracts, con, files)
    arrived = sorted(bronze(lake), key=lambda r: r["_ingested_at"])
    assert [r["order_id"] for r in arrived] == ["0", "1", "2"]


def test_a_failed_commit_fails_the_ingest(land, lake, contracts, con, monkeypatch) -> None:
    monkeypatch.setattr("shared.ingest.MAX_STAGED_FILES", 1)
    files = [land("orders", f"o{i}.csv", [[f"{i}", *ORDER_ROWS[0][1:]]]) for i in range(3)]

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("storage unavailable")

    monkeypatch.setattr(lake, "append_batches", broken)
    with pytest.raises(OSError, match="storage unavailable"):
        ingest_files(lake, contracts, con, files)
    assert lake.read("bronze.orders") is None


def test_recovery_commits_only_the_files_not_yet_in_bronze(land, lake, contracts, con) -> None:
    old = land("orders", "o1.csv", ORDER_ROWS[:1])
    ingest_files(lake, contracts, con, [old])
    shutil.rmtree(Path(lake.storage.local_path("")) / "_ops" / "ingest_ledger")
    lake = Lake(lake.storage)  # the next job starts afresh
    new = land("orders", "o2.csv", ORDER_ROWS[1:])

    results = ingest_files(lake, contracts, con, [old, new])

    assert [r.status for r in results] == ["duplicate", "loaded"]
    assert sorted(r["order_id"] for r in bronze(lake)) == ["007", "008"]
    assert sorted(e["source_file"] for e in ledger(lake)) == [old.name, new.name]


# --- rejections ----------------------------------------------------------------------------


def test_missing_required_column_rejects_the_file(lake, contracts, con) -> None:
    header = "order_id,customer_id,store_id,order_ts,updated_at"
    file = put(lake, "landing/pos/orders/bad.csv", f"{header}\n1,c1,s1,2024-01-01,2024-01-01\n")
    digest = sha(file.local_path)

    (result,) = ingest_files(lake, contracts, con, [file])

    reason = result.reason
    assert reason.startswith(
        "landing/pos/orders/bad.csv lacks required column(s) status of contract orders v1 (hint: "
    )
    assert reason.endswith("contracts/orders.yaml)")
    assert result == IngestResult(
        "landing/pos/orders/bad.csv", "rejected", "orders", None, 0, reason
    )
    (entry,) = ledger(lake)
    assert (entry["status"], entry["table_name"], entry["batch_id"]) == ("rejected", "orders", None)
    assert (entry["reason"], entry["rows"], entry["content_sha256"]) == (reason, 0, digest)
    assert not lake.storage.exists("landing/pos/orders/bad.csv")
    moved = "landing/_rejected/pos/orders/bad.csv"
    assert hashlib.sha256(lake.storage.read_bytes(moved)).hexdigest() == digest
    assert lake.storage.read_bytes(f"{moved}.reason.txt").decode() == reason + "\n"
    assert not lake.exists("bronze.orders")
    run = lake.read(RUNS).to_pylist()[0]
    assert json.loads(run["details"]) == {"duplicate": 0, "loaded": 0, "rejected": 1}
    assert (run["status"], run["rows_written"]) == ("succeeded", 0)


def test_several_missing_columns_are_all_named(lake, contracts, con) -> None:
    file = put(lake, "landing/pos/order_lines/bad.csv", "order_id,line_no\n1,1\n")
    (result,) = ingest_files(lake, contracts, con, [file])
    assert result.reason.startswith(
        "landing/pos/order_lines/bad.csv lacks required column(s) "
        "product_id, quantity, unit_price, discount_pct of contract order_lines v1"
    )


def test_header_only_file_is_rejected(land, lake, contracts, con) -> None:
    (result,) = ingest_files(lake, contracts, con, [land("orders", "empty.csv", [])])
    assert result.status == "rejected"
    assert result.reason == (
        "landing/src/orders/empty.csv holds no data rows "
        "(hint: an empty extract is not loaded; resend it)"
    )
    assert lake.storage.exists("landing/_rejected/src/orders/empty.csv.reason.txt")
    assert not lake.exists("bronze.orders")


def test_zero_byte_file_is_rejected(lake, contracts, con) -> None:
    (result,) = ingest_files(lake, contracts, con, [put(lake, "landing/pos/orders/z.csv", b"")])
    assert result.status == "rejected"
    assert result.reason.startswith(
        "cannot parse landing/pos/orders/z.csv as csv: the file has no header line"
    )
    assert lake.storage.exists("landing/_rejected/pos/orders/z.csv")


def test_reserved_column_name_is_rejected(lake, contracts, con) -> None:
    body = csv_text("stores", ["s1,Main,Leeds,GB,store"]).replace(
        "channel\n", "channel,_row_number\n"
    )
    body = body.replace("store\n", "store,5\n")
    (result,) = ingest_files(lake, contracts, con, [put(lake, "landing/a/stores/r.csv", body)])
    assert result.status == "rejected"
    assert result.reason == "landing/a/stores/r.csv uses reserved column names: _row_number"


def test_rejection_does_not_stop_the_other_files(land, lake, contracts, con) -> None:
    bad = put(lake, "landing/pos/orders/bad.csv", "order_id\n1\n")
    good = land("orders", "good.csv", ORDER_ROWS)
    results = ingest_files(lake, contracts, con, [bad, good])
    assert [r.status for r in results] == ["rejected", "loaded"]
    assert len(bronze(lake)) == 2
    assert sorted(e["status"] for e in ledger(lake)) == ["loaded", "rejected"]


def test_upper_case_gzip_name_does_not_abort_the_batch(land, lake, contracts, con) -> None:
    upper = put(lake, "landing/pos/stores/S.CSV.GZ", gzip.compress(b"a,b\n1,2\n", mtime=0))
    good = land("orders", "good.csv", ORDER_ROWS)
    results = ingest_files(lake, contracts, con, [upper, good])
    assert [r.status for r in results][1] == "loaded"


# --- schema drift --------------------------------------------------------------------------


def test_extra_column_is_carried_and_reported(lake, contracts, con) -> None:
    body = csv_text("orders", [[*ORDER_ROWS[0], "SAVE10"]]).replace(
        "updated_at\n", "updated_at,Coupon Code\n", 1
    )
    (result,) = ingest_files(lake, contracts, con, [put(lake, "landing/web/orders/d.csv", body)])
    assert (result.status, result.drift) == ("loaded", {"added": ["coupon_code"]})
    (row,) = bronze(lake)
    assert row["coupon_code"] == "SAVE10"
    (entry,) = ledger(lake)
    assert json.loads(entry["schema_drift"]) == {"added": ["coupon_code"]}
    # a later file without it still appends; its rows have no value there
    (plain,) = ingest_files(
        lake,
        contracts,
        con,
        [put(lake, "landing/web/orders/p.csv", csv_text("orders", [ORDER_ROWS[1]]))],
    )
    assert (plain.status, plain.drift) == ("loaded", {})
    assert sorted((r["order_id"], r["coupon_code"]) for r in bronze(lake)) == [
        ("007", "SAVE10"),
        ("008", None),
    ]


@pytest.fixture
def strict_contracts(tmp_path: Path) -> ContractSet:
    """The shipped contracts, with stores rejecting new columns and customers' phone optional."""
    folder = tmp_path / "contracts"
    shutil.copytree(PACKAGE_ROOT / "contracts", folder)
    stores = folder / "stores.yaml"
    stores.write_text(stores.read_text() + "schema_drift: {additive: reject}\n")
    customers = folder / "customers.yaml"
    text = customers.read_text()
    assert "  phone: {type: string, pii: true}\n" in text
    customers.write_text(
        text.replace(
            "  phone: {type: string, pii: true}\n",
            "  phone: {type: string, pii: true, required: false}\n",
        )
    )
    return load_contracts(folder)


def test_contract_can_reject_additive_drift(lake, strict_contracts, con) -> None:
    body = csv_text("stores", ["s1,Main,Leeds,GB,store"]).replace("channel\n", "channel,region\n")
    body = body.replace("store\n", "store,north\n")
    file = put(lake, "landing/a/stores/x.csv", body)
    (result,) = ingest_files(lake, strict_contracts, con, [file])
    assert result.status == "rejected"
    assert result.reason.startswith(
        "landing/a/stores/x.csv has columns not in contract stores: region"
    )
    assert not lake.exists("bronze.stores")


def test_missing_optional_column_is_reported(lake, strict_contracts, con) -> None:
    header = COLUMNS["customers"].replace("phone,", "")
    body = f"{header}\nC1,Ann,Lee,a@x.io,Leeds,GB,gold,2024-01-01,2024-01-01 00:00:00\n"
    file = put(lake, "landing/crm/customers/c.csv", body)
    (result,) = ingest_files(lake, strict_contracts, con, [file])
    assert (result.status, result.rows, result.drift) == ("loaded", 1, {"missing": ["phone"]})


# --- which table ---------------------------------------------------------------------------


def test_table_from_the_contract_path_pattern_wins(land, lake, contracts, con) -> None:
    file = land("orders", "o1.csv", ORDER_ROWS)
    (result,) = ingest_files(lake, contracts, con, [file], table="customers")
    assert (result.status, result.table) == ("loaded", "orders")


def test_table_from_the_parent_folder(lake, contracts, con, tmp_path: Path) -> None:
    local = tmp_path / "o.csv"
    local.write_text(csv_text("orders", ORDER_ROWS))
    (result,) = ingest_files(lake, contracts, con, [LandingFile("orders/o.csv", str(local))])
    assert (result.status, result.table, result.rows) == ("loaded", "orders", 2)
    assert {r["_source_file"] for r in bronze(lake)} == {"orders/o.csv"}


def test_table_from_the_override(lake, contracts, con, tmp_path: Path) -> None:
    local = tmp_path / "drop" / "export.csv"
    local.parent.mkdir()
    local.write_text(csv_text("orders", ORDER_ROWS))
    (result,) = ingest_files(
        lake, contracts, con, [LandingFile(str(local), str(local))], table="orders"
    )
    assert (result.status, result.table) == ("loaded", "orders")


def test_unknown_table_is_rejected_with_a_hint(lake, contracts, con) -> None:
    file = put(lake, "landing/pos/returns/r.csv", csv_text("orders", ORDER_ROWS))
    (result,) = ingest_files(lake, contracts, con, [file])
    assert result == IngestResult(
        "landing/pos/returns/r.csv",
        "rejected",
        None,
        None,
        0,
        "cannot tell which table landing/pos/returns/r.csv belongs to "
        "(hint: put it under <source>/<table>/ in the landing zone or pass --table)",
    )
    assert lake.storage.exists("landing/_rejected/pos/returns/r.csv")
    (entry,) = ledger(lake)
    assert (entry["status"], entry["table_name"]) == ("rejected", None)


# --- files outside the lake ----------------------------------------------------------------


def test_file_outside_the_lake_is_read_in_place(lake, contracts, con, tmp_path: Path) -> None:
    drop = tmp_path / "drop" / "orders"
    drop.mkdir(parents=True)
    good = drop / "o.csv"
    good.write_text(csv_text("orders", ORDER_ROWS))
    bad = drop / "bad.csv"
    bad.write_text("order_id\n1\n")
    before = {p: p.read_bytes() for p in (good, bad)}

    files = discover([str(drop)], lake)
    assert files == [LandingFile(str(bad), str(bad), None), LandingFile(str(good), str(good), None)]
    results = ingest_files(lake, contracts, con, files)

    assert [(r.status, r.table) for r in results] == [("rejected", "orders"), ("loaded", "orders")]
    assert {p: p.read_bytes() for p in (good, bad)} == before
    assert sorted(p.name for p in drop.iterdir()) == ["bad.csv", "o.csv"]
    assert not lake.storage.exists("landing/_rejected")
    assert {r["_source_file"] for r in bronze(lake)} == {str(good)}


# --- discover ------------------------------------------------------------------------------


def test_discover_skips_underscore_and_dot_names(lake) -> None:
    for path in [
        "landing/pos/orders/b.csv",
        "landing/pos/orders/a.csv.gz",
        "landing/pos/orders/_ground_truth.jsonl",
        "landing/pos/orders/.tmp-123",
        "landing/pos/_staging/orders/x.csv",
        "landing/.cache/orders/y.csv",
        "landing/_rejected/pos/orders/bad.csv",
        "landing/_rejected/pos/orders/bad.csv.reason.txt",
        "landing/crm/customers/c.jsonl",
    ]:
        lake.storage.write_bytes(path, b"x")
    root = Path(lake.storage.local_path(""))

    files = discover([str(root / "landing")], lake)

    assert files == [
        LandingFile(p, str(root / p), p)
        for p in [
            "landing/crm/customers/c.jsonl",
            "landing/pos/orders/a.csv.gz",
            "landing/pos/orders/b.csv",
        ]
    ]


def test_discover_takes_a_named_file_as_is(lake) -> None:
    lake.storage.write_bytes("landing/pos/orders/_manual.csv", b"x")
    lake.storage.write_bytes("exports/orders/e.csv", b"x")
    root = Path(lake.storage.local_path(""))
    files = discover([str(root / "landing/pos/orders/_manual.csv"), str(root / "exports")], lake)
    assert files == [
        LandingFile(
            "landing/pos/orders/_manual.csv",
            str(root / "landing/pos/orders/_manual.csv"),
            "landing/pos/orders/_manual.csv",
        ),
        # inside the lake but not in landing/: named relative, never moved
        LandingFile("exports/orders/e.csv", str(root / "exports/orders/e.csv"), None),
    ]


def test_discover_missing_path(lake, tmp_path: Path) -> None:
    with pytest.raises(FileRejectedError, match=r"no such file or folder: .*nowhere"):
        discover([str(tmp_path / "nowhere")], lake)


def test_discovered_landing_folder_ingests_end_to_end(land, lake, contracts, con) -> None:
    land("orders", "o1.csv", ORDER_ROWS)
    land("stores", "s1.csv", ["s1,Main,Leeds,GB,store"])
    lake.storage.write_bytes("landing/src/orders/_ground_truth.jsonl", b'{"not": "data"}\n')
    files = discover([lake.storage.local_path("landing")], lake)
    results = ingest_files(lake, contracts, con, files)
    assert [(r.source_file, r.status, r.rows) for r in results] == [
        ("landing/src/orders/o1.csv", "loaded", 2),
        ("landing/src/stores/s1.csv", "loaded", 1),
    ]
