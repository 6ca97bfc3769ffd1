"""Tests of the seeded chaos generator (``shared.generate``)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from shared.generate import DEFECT_KINDS, FORMATS, GenerateOptions, GenerateResult, generate
from tests.shared.generate.landing_reader import (
    FILE_NAME,
    KEYS,
    Checker,
    Record,
    delivery_key,
    load_truth,
    read_file,
    read_landing,
)

END = date(2026, 11, 20)
SMALL = GenerateOptions(
    days=5, end_date=END, orders_per_day=40, initial_customers=60, initial_products=30, stores=5
)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerateResult, list[Record]]:
    """The default options (30 days, seed 42, 5 % defects) with a fixed end date."""
    out = tmp_path_factory.mktemp("default")
    result = generate(out, GenerateOptions(end_date=END))
    return result, read_landing(out)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerateResult, list[Record]]:
    out = tmp_path_factory.mktemp("clean")
    result = generate(out, GenerateOptions(end_date=END, defect_rate=0.0, days=12))
    return result, read_landing(out)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = _tree(generate(tmp_path / "a", SMALL).landing_dir)
    again = _tree(generate(tmp_path / "b", SMALL).landing_dir)
    other = _tree(
        generate(tmp_path / "c", GenerateOptions(**{**SMALL.__dict__, "seed": 7})).landing_dir
    )
    assert first == again
    assert any(name.endswith(".parquet") for name in first)
    assert any(name.endswith(".gz") for name in first)
    common = set(first) & set(other)
    assert any(first[name] != other[name] for name in common) or set(first) != set(other)


def test_ground_truth_entries_point_at_real_rows_with_matching_keys(
    default_run: tuple[GenerateResult, list[Record]],
) -> None:
    result, records = default_run
    by_location = {(r.file, r.row): r for r in records}
    truth = load_truth(result.ground_truth)
    assert truth, "the default options must inject defects"
    for entry in truth:
        record = by_location[(str(entry["file"]), int(entry["row"]))]  # type: ignore[arg-type]
        assert record.table == entry["table"]
        assert set(entry["key"]) == set(KEYS[record.table])  # type: ignore[arg-type]
        for column, value in entry["key"].items():  # type: ignore[union-attr]
            written = record.values[column]
            # CSV cannot tell a null from an empty field: both read back as "".
            assert written == value or (value is None and written == ""), (entry, written)
    locations = [(e["file"], e["row"]) for e in truth]
    assert len(set(locations)) == len(locations), "one defect per row"
    order = [(delivery_key(str(e["file"])), e["row"]) for e in truth]
    assert order == sorted(order), "ground truth is sorted by delivery order, then row"


def test_independent_checker_flags_exactly_the_ground_truth(
    default_run: tuple[GenerateResult, list[Record]],
) -> None:
    """Recall and precision of an independent re-implementation of every rule are 100 %:
    every injected row shows exactly its one defect, and no other row shows any."""
    result, records = default_run
    flags = Checker(records, END).run()
    truth = {(e["file"], e["row"]): e["defect"] for e in load_truth(result.ground_truth)}
    missing = {loc: kind for loc, kind in truth.items() if flags.get(loc) != [kind]}  # type: ignore[index]
    unexpected = {loc: found for loc, found in flags.items() if loc not in truth}
    assert not missing, list(missing.items())[:10]
    assert not unexpected, list(unexpected.items())[:10]


def test_every_defect_kind_appears_with_default_options(
    default_run: tuple[GenerateResult, list[Record]],
) -> None:
    result, _ = default_run
    kinds = Counter(str(e["defect"]) for e in load_truth(result.ground_truth))
    assert set(kinds) == set(DEFECT_KINDS)
    assert dict(kinds) == {k: v for k, v in result.defects.items() if v}
    assert set(result.defects) == set(DEFECT_KINDS)


def test_defect_fraction_is_close_to_the_rate(
    default_run: tuple[GenerateResult, list[Record]], tmp_path: Path
) -> None:
    result, records = default_run
    assert sum(result.rows.values()) == len(records)
    per_table = Counter(r.table for r in records)
    assert per_table == Counter({k: v for k, v in result.rows.items() if v})
    truth = Counter(str(e["table"]) for e in load_truth(result.ground_truth))
    for table in ("customers", "orders", "order_lines"):
        assert 0.035 <= truth[table] / per_table[table] <= 0.065, (table, truth[table])
    assert 0.045 <= sum(truth.values()) / len(records) <= 0.055

    heavy = generate(tmp_path, GenerateOptions(**{**SMALL.__dict__, "defect_rate": 0.2}))
    rate = sum(heavy.defects.values()) / sum(heavy.rows.values())
    assert 0.15 <= rate <= 0.25


def test_zero_rate_writes_only_clean_rows(clean_run: tuple[GenerateResult, list[Record]]) -> None:
    result, records = clean_run
    assert result.ground_truth.read_text() == ""
    assert sum(result.defects.values()) == 0
    assert Checker(records, END).run() == {}
    # The checker's reference rules, spelled out once more for the clean data.
    orders: dict[str | None, date] = {}
    for r in records:
        if r.table == "orders":
            orders.setdefault(r.values["order_id"], r.day)  # the placed delivery
    for r in records:
        if r.table == "order_lines":
            assert orders[r.values["order_id"]] == r.day, "lines travel with their order"
            assert int(r.values["quantity"] or "0") >= 1


def test_all_five_formats_are_used(default_run: tuple[GenerateResult, list[Record]]) -> None:
    result, _ = default_run
    extensions = Counter(p.name.split(".", 1)[1] for p in result.files)
    assert set(extensions) == set(FORMATS)
    assert min(extensions.values()) >= len(result.files) // 10


def test_file_names_sort_in_delivery_order(
    default_run: tuple[GenerateResult, list[Record]],
) -> None:
    result, _ = default_run
    rels = [p.relative_to(result.landing_dir).as_posix() for p in result.files]
    assert all(FILE_NAME.match(rel) for rel in rels)
    assert rels == sorted(rels, key=delivery_key)
    by_dir: dict[str, list[str]] = defaultdict(list)
    for rel in rels:
        folder, name = rel.rsplit("/", 1)
        by_dir[folder].append(name)
    assert set(by_dir) == {
        "crm/customers", "erp/products", "erp/stores", "pos/orders", "pos/order_lines",
        "web/orders", "web/order_lines",
    }  # fmt: skip
    for names in by_dir.values():
        assert names == sorted(names)
    days = {rel.split("/")[-1][:10] for rel in rels}
    assert len(days) == 30 and max(days) == END.isoformat()
    assert sorted(p.name for p in result.landing_dir.rglob("*") if p.is_file()) == sorted(
        [p.name for p in result.files] + ["_ground_truth.jsonl"]
    )


def _clean(records: list[Record], result: GenerateResult) -> list[Record]:
    flagged = {(e["file"], e["row"]) for e in load_truth(result.ground_truth)}
    return [r for r in records if (r.file, r.row) not in flagged]


def test_customer_product_and_order_history(
    default_run: tuple[GenerateResult, list[Record]],
) -> None:
    result, records = default_run
    versions: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in _clean(records, result):
        if r.table in ("customers", "products", "orders"):
            versions[(r.table, str(r.values[KEYS[r.table][0]]))].append(r)

    def changed(table: str, columns: tuple[str, ...]) -> int:
        count = 0
        for (t, _), rows in versions.items():
            stamps = [r.values["updated_at"] for r in rows]
            if t != table or len(set(stamps)) < 2:
                continue
            assert stamps == sorted(stamps), "clean versions arrive oldest first"
            if any(len({(r.values[c] or "").strip() for r in rows}) > 1 for c in columns):
                count += 1
        return count

    assert changed("customers", ("city",)) >= 20
    assert changed("customers", ("loyalty_tier",)) >= 10
    assert changed("products", ("unit_price",)) >= 20
    lifecycles = Counter(
        tuple(r.values["status"] for r in rows)
        for (t, _), rows in versions.items()
        if t == "orders"
    )
    assert lifecycles[("placed", "shipped", "delivered")] > 1000
    assert lifecycles[("placed", "cancelled")] > 50
    assert lifecycles[("placed", "shipped", "delivered", "returned")] > 20


def test_line_prices_follow_the_product_price_in_force(
    default_run: tuple[GenerateResult, list[Record]],
) -> None:
    result, records = default_run
    clean = _clean(records, result)
    prices: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for r in clean:
        if r.table == "products":
            prices[str(r.values["product_id"])].append(
                (
                    datetime.fromisoformat(str(r.values["updated_at"])),
                    Decimal(str(r.values["unit_price"])),
                )
            )
    placed = {
        r.values["order_id"]: datetime.fromisoformat(str(r.values["order_ts"]))
        for r in clean
        if r.table == "orders"
    }
    used_versions: dict[str, set[Decimal]] = defaultdict(set)
    for r in clean:
        if r.table != "order_lines" or r.values["order_id"] not in placed:
            continue  # lines of an order with a defect have no clean order_ts to price at
        at = placed[r.values["order_id"]]
        in_force = max(v for v in prices[str(r.values["product_id"])] if v[0] <= at)
        assert Decimal(str(r.values["unit_price"])) == in_force[1], r
        used_versions[str(r.values["product_id"])].add(in_force[1])
    assert sum(len(v) > 1 for v in used_versions.values()) >= 10, "new prices reach orders"


def test_text_noise_is_present_but_not_a_defect(
    default_run: tuple[GenerateResult, list[Record]],
) -> None:
    result, records = default_run
    emails = [str(r.values["email"]) for r in _clean(records, result) if r.table == "customers"]
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    names = [str(r.values["first_name"]) for r in records if r.table == "customers"]
    assert any(n != n.strip() for n in names)


def test_progress_goes_to_the_callback_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages: list[str] = []
    generate(tmp_path, SMALL, progress=messages.append)
    assert capsys.readouterr() == ("", "")
    assert len(messages) == SMALL.days + 1
    assert messages[-1].startswith(f"{END.isoformat()}:")


def test_small_runs_still_mix_formats_and_read_back(tmp_path: Path) -> None:
    result = generate(tmp_path, GenerateOptions(**{**SMALL.__dict__, "days": 1}))
    assert {p.name.split(".", 1)[1] for p in result.files} == set(FORMATS)
    for path in result.files:
        assert read_file(path)


def test_invalid_options_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, GenerateOptions(days=0))
    with pytest.raises(ValueError):
        generate(tmp_path, GenerateOptions(defect_rate=1.5))
    with pytest.raises(ValueError):
        generate(tmp_path, GenerateOptions(stores=1))


@pytest.mark.slow
def test_two_hundred_thousand_lines_generate_quickly(tmp_path: Path) -> None:
    options = GenerateOptions(days=10, end_date=END, orders_per_day=10_500)
    started = time.perf_counter()
    result = generate(tmp_path, options)
    elapsed = time.perf_counter() - started
    assert 180_000 <= result.rows["order_lines"] <= 230_000
    assert elapsed < 30, f"took {elapsed:.1f}s"
