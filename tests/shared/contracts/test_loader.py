"""Contracts: the shipped five load, malformed ones fail naming the file and the key, and a
new feed is one more YAML file."""

from __future__ import annotations

import copy
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from shared.contracts import Column, ContractSet, load_contract, load_contracts, parse_duration
from shared.errors import ContractError
from shared.settings import PACKAGE_ROOT

SHIPPED = PACKAGE_ROOT / "contracts"

# A small valid contract; each malformed case below changes one thing in a copy of it.
BASE = {
    "table": "t",
    "version": 1,
    "owner": "team@example.com",
    "source": {"path_pattern": "*/t/*"},
    "keys": ["id"],
    "sequence": "updated_at",
    "columns": {
        "id": {"type": "string", "nullable": False},
        "amount": {"type": "decimal(18,2)"},
        "updated_at": {"type": "timestamp"},
    },
}


def write_contract(folder: Path, data: dict | str, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    table = name or (data["table"] if isinstance(data, dict) else "t")
    path = folder / f"{table}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def changed(**updates: object) -> dict:
    data = copy.deepcopy(BASE)
    data.update(updates)
    return data


def contract_error(path: Path) -> str:
    with pytest.raises(ContractError) as info:
        load_contract(path)
    return str(info.value)


# --- the shipped contracts ---------------------------------------------------------------


def test_the_five_shipped_contracts_load(contracts: ContractSet) -> None:
    assert sorted(contracts) == ["customers", "order_lines", "orders", "products", "stores"]
    assert len(contracts) == 5
    assert contracts.files["orders"] == SHIPPED / "orders.yaml"
    orders = contracts["orders"]
    assert orders.keys == ["order_id"]
    assert orders.sequence == "updated_at"
    assert list(orders.columns) == [
        "order_id",
        "customer_id",
        "store_id",
        "order_ts",
        "status",
        "updated_at",
    ]
    assert [(r.table, r.to) for r in orders.references] == [
        ("customers", "customer_id"),
        ("stores", "store_id"),
    ]
    assert contracts["customers"].pii_columns == ["email", "phone"]
    assert contracts["customers"].scd2 is not None
    assert contracts["order_lines"].key_columns == ["order_id", "line_no"]


def test_unknown_table_lookup_names_the_known_tables(contracts: ContractSet) -> None:
    with pytest.raises(ContractError, match=r"no contract for table 'returns' \(known: customers"):
        contracts["returns"]


def test_build_order_puts_parents_before_children(contracts: ContractSet) -> None:
    order = contracts.build_order()
    assert order == ["customers", "stores", "orders", "products", "order_lines"]
    for parent, child in [
        ("customers", "orders"),
        ("stores", "orders"),
        ("orders", "order_lines"),
        ("products", "order_lines"),
    ]:
        assert order.index(parent) < order.index(child)


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("landing/pos/orders/x.csv.gz", "orders"),
        ("pos/order_lines/y.parquet", "order_lines"),
        ("landing/crm/customers/2024-01-01.jsonl", "customers"),
        ("landing\\web\\products\\p.csv", "products"),
        ("landing/pos/returns/r.csv", None),
        ("orders/x.csv", None),  # too short for */orders/*
        ("landing/pos/orders", None),
    ],
)
def test_table_for_path(contracts: ContractSet, path: str, table: str | None) -> None:
    assert contracts.table_for_path(path) == table


def test_table_for_path_is_none_when_two_contracts_match(tmp_path: Path) -> None:
    write_contract(tmp_path, changed(table="a", source={"path_pattern": "*/x/*"}))
    write_contract(tmp_path, changed(table="b", source={"path_pattern": "src/*/*"}))
    contracts = load_contracts(tmp_path)
    assert contracts.table_for_path("landing/src/x/f.csv") is None
    assert contracts.table_for_path("landing/other/x/f.csv") == "a"
    assert contracts.table_for_path("landing/src/y/f.csv") == "b"


@pytest.mark.parametrize(
    ("declared", "stored", "sql"),
    [
        ("decimal(18,2)", "decimal(18,2)", "DECIMAL(18,2)"),
        ("DECIMAL(5, 2)", "decimal(5, 2)", "DECIMAL(5,2)"),
        ("timestamp", "timestamp", "TIMESTAMP"),
        (" Timestamp ", "timestamp", "TIMESTAMP"),
        ("string", "string", "VARCHAR"),
        ("integer", "integer", "BIGINT"),
        ("double", "double", "DOUBLE"),
        ("boolean", "boolean", "BOOLEAN"),
        ("date", "date", "DATE"),
    ],
)
def test_column_sql_type(declared: str, stored: str, sql: str) -> None:
    column = Column(type=declared)
    assert column.type == stored
    assert column.sql_type == sql


def test_shipped_column_types(contracts: ContractSet) -> None:
    lines = contracts["order_lines"].columns
    assert lines["unit_price"].sql_type == "DECIMAL(18,2)"
    assert lines["discount_pct"].sql_type == "DECIMAL(5,2)"
    assert lines["quantity"].sql_type == "BIGINT"
    assert contracts["orders"].columns["order_ts"].sql_type == "TIMESTAMP"
    assert contracts["customers"].columns["signup_date"].sql_type == "DATE"
    assert Column().sql_type == "VARCHAR"


@pytest.mark.parametrize(
    "declared",
    [
        "decimal(40,2)",  # DuckDB's widest decimal is 38 digits
        "decimal(2,5)",  # the scale cannot exceed the precision
        "decimal(0,0)",
    ],
)
def test_impossible_decimal_types_are_rejected_at_load(declared: str) -> None:
    with pytest.raises(ValidationError):
        Column(type=declared)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72h", timedelta(hours=72)),
        ("3d", timedelta(days=3)),
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2w", timedelta(weeks=2)),
        (" 36 h ", timedelta(hours=36)),
        ("0d", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "72", "h", "3 days", "1.5h", "-1h", "3D", "3y", "abc"])
def test_parse_duration_rejects_bad_input(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_reference_grace_period(contracts: ContractSet) -> None:
    (rule, _) = contracts["orders"].references
    assert rule.grace == "72h"
    assert rule.grace_period == timedelta(hours=72)


# --- malformed contracts -------------------------------------------------------------------


def test_valid_base_contract_loads(tmp_path: Path) -> None:
    contract = load_contract(write_contract(tmp_path, BASE))
    assert contract.table == "t"
    assert contract.required_columns == ["id", "amount", "updated_at"]


def test_bad_yaml_syntax_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write_contract(
        tmp_path,
        "table: t\nversion: 1\nowner: x\nkeys: [id\ncolumns:\n  id: {}\n",
    )
    message = contract_error(path)
    assert message.startswith(f"{path}: not valid YAML at line 5, column 8")
    assert "fix the YAML syntax" in message


def test_bad_indentation_names_the_line(tmp_path: Path) -> None:
    path = write_contract(tmp_path, "table: t\nversion: 1\n  owner: x\n")
    assert f"{path}: not valid YAML at line 3" in contract_error(path)


@pytest.mark.parametrize("text", ["- a\n- b\n", "", "just text\n"])
def test_a_contract_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write_contract(tmp_path, text)
    assert contract_error(path) == f"{path}: a contract must be a YAML mapping with a 'table' key"


def test_unknown_column_type(tmp_path: Path) -> None:
    data = changed()
    data["columns"]["amount"]["type"] = "money"
    path = write_contract(tmp_path, data)
    message = contract_error(path)
    assert message.startswith(f"{path}: key 'columns.amount.type': unknown type 'money'")


def test_unknown_rule_check(tmp_path: Path) -> None:
    path = write_contract(
        tmp_path, changed(rules=[{"id": "t.r", "check": "between", "column": "amount"}])
    )
    message = contract_error(path)
    assert message.startswith(f"{path}: key 'rules.0': Input tag 'between'")
    assert "'not_null', 'range', 'regex'" in message


def test_unknown_table_rule_check(tmp_path: Path) -> None:
    path = write_contract(tmp_path, changed(table_rules=[{"id": "t.u", "check": "uniq"}]))
    assert contract_error(path).startswith(f"{path}: key 'table_rules.0': Input tag 'uniq'")


def test_range_rule_without_bounds(tmp_path: Path) -> None:
    path = write_contract(
        tmp_path, changed(rules=[{"id": "t.r", "check": "range", "column": "amount"}])
    )
    message = contract_error(path)
    assert message.startswith(f"{path}: key 'rules.0.range': a range rule needs min, max or both")


def test_regex_rule_that_does_not_compile(tmp_path: Path) -> None:
    rule = {"id": "t.re", "check": "regex", "column": "id", "pattern": "([a-z"}
    path = write_contract(tmp_path, changed(rules=[rule]))
    assert "key 'rules.0.regex.pattern': pattern does not compile" in contract_error(path)


def test_rule_naming_an_undeclared_column(tmp_path: Path) -> None:
    path = write_contract(
        tmp_path, changed(rules=[{"id": "t.nn", "check": "not_null", "column": "nope"}])
    )
    message = contract_error(path)
    assert message.startswith(
        f"{path}: rule 't.nn' names column 'nope', which is not under columns"
    )


def test_table_rule_naming_an_undeclared_column(tmp_path: Path) -> None:
    rule = {"id": "t.c", "check": "completeness", "column": "ghost", "min_ratio": 0.9}
    path = write_contract(tmp_path, changed(table_rules=[rule]))
    assert "rule 't.c' names column 'ghost'" in contract_error(path)


def test_key_naming_an_undeclared_column(tmp_path: Path) -> None:
    path = write_contract(tmp_path, changed(keys=["nope"]))
    assert contract_error(path).startswith(
        f"{path}: keys names column 'nope', which is not under columns"
    )


def test_duplicate_rule_ids(tmp_path: Path) -> None:
    path = write_contract(
        tmp_path,
        changed(
            rules=[{"id": "t.r", "check": "not_null", "column": "id"}],
            table_rules=[{"id": "t.r", "check": "unique"}],
        ),
    )
    assert contract_error(path).startswith(f"{path}: rule id 't.r' is used twice")


def test_scd2_without_sequence(tmp_path: Path) -> None:
    data = changed(scd2={"tracked": ["amount"]})
    del data["sequence"]
    path = write_contract(tmp_path, data)
    assert contract_error(path).startswith(f"{path}: scd2 needs a sequence column")


def test_scd2_tracking_an_undeclared_column(tmp_path: Path) -> None:
    path = write_contract(tmp_path, changed(scd2={"tracked": ["colour"]}))
    assert "scd2.tracked names column 'colour'" in contract_error(path)


def test_unknown_key(tmp_path: Path) -> None:
    path = write_contract(tmp_path, changed(primary_key=["id"]))
    assert contract_error(path).startswith(
        f"{path}: key 'primary_key': Extra inputs are not permitted"
    )


def test_missing_key(tmp_path: Path) -> None:
    data = changed()
    del data["owner"]
    path = write_contract(tmp_path, data)
    assert contract_error(path).startswith(f"{path}: key 'owner': Field required")


def test_bad_grace_duration(tmp_path: Path) -> None:
    rule = {"id": "t.ref", "check": "references", "column": "id", "table": "t", "to": "id"}
    path = write_contract(tmp_path, changed(rules=[{**rule, "grace": "three days"}]))
    assert "key 'rules.0.references.grace': 'three days' is not a duration" in contract_error(path)


def test_table_key_must_match_the_file_name(tmp_path: Path) -> None:
    path = write_contract(tmp_path, changed(table="other"), name="t")
    message = contract_error(path)
    assert message.startswith(f"{path}: key 'table' is 'other' but the file is named t.yaml")
    assert "rename the file to other.yaml" in message


def test_reference_to_a_table_without_contract(tmp_path: Path) -> None:
    rule = {"id": "t.ref", "check": "references", "column": "id", "table": "ghosts", "to": "id"}
    path = write_contract(tmp_path, changed(rules=[rule]))
    with pytest.raises(ContractError) as info:
        load_contracts(tmp_path)
    assert str(info.value).startswith(
        f"{path}: rule 't.ref' references table 'ghosts', which has no contract"
    )
    assert "add contracts/ghosts.yaml" in str(info.value)


def test_reference_to_a_missing_column_of_the_parent(tmp_path: Path) -> None:
    write_contract(tmp_path, changed(table="parent"))
    rule = {"id": "c.ref", "check": "references", "column": "id", "table": "parent", "to": "pid"}
    child = write_contract(tmp_path, changed(table="child", rules=[rule]))
    with pytest.raises(ContractError) as info:
        load_contracts(tmp_path)
    assert str(info.value) == (
        f"{child}: rule 'c.ref' references parent.pid, which is not a column of parent"
    )


def test_reference_cycle(tmp_path: Path) -> None:
    def ref(table: str) -> dict:
        return {"id": f"ref.{table}", "check": "references", "column": "id", "table": table}

    write_contract(tmp_path, changed(table="a", rules=[{**ref("b"), "to": "id"}]))
    write_contract(tmp_path, changed(table="b", rules=[{**ref("a"), "to": "id"}]))
    with pytest.raises(ContractError, match="reference cycle through table"):
        load_contracts(tmp_path)


def test_self_reference_is_allowed(tmp_path: Path) -> None:
    rule = {"id": "t.parent", "check": "references", "column": "id", "table": "t", "to": "id"}
    write_contract(tmp_path, changed(rules=[rule]))
    assert load_contracts(tmp_path).build_order() == ["t"]


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as info:
        load_contracts(tmp_path)
    assert str(info.value).startswith(f"no contracts found in {tmp_path}")
    assert "LAKEHOUSE_CONTRACTS" in str(info.value)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="no contracts found in"):
        load_contracts(tmp_path / "nowhere")


def test_first_bad_file_in_a_folder_is_named(tmp_path: Path) -> None:
    write_contract(tmp_path, changed(table="good"))
    data = changed(table="bad")
    data["columns"]["id"]["type"] = "uuid"
    bad = write_contract(tmp_path, data)
    with pytest.raises(ContractError) as info:
        load_contracts(tmp_path)
    assert str(info.value).startswith(f"{bad}: key 'columns.id.type': unknown type 'uuid'")


def test_duplicate_yaml_key_is_rejected(tmp_path: Path) -> None:
    path = write_contract(
        tmp_path,
        "table: t\nversion: 1\nowner: x\nsource: {path_pattern: '*/t/*'}\nkeys: [id]\n"
        "columns:\n  id: {type: string}\n  amount: {type: 'decimal(18,2)'}\n"
        "  amount: {type: string}\n",
    )
    message = contract_error(path)
    assert str(path) in message
    assert "amount" in message


# --- a new feed is just a YAML file --------------------------------------------------------

RETURNS_YAML = """\
# Returns from the web shop and the tills.
table: returns
version: 1
owner: sales-data@retailer.example
description: One row per returned order line.
source:
  path_pattern: "*/returns/*"
keys: [return_id]
sequence: returned_at
columns:
  return_id: {type: string, nullable: false}
  order_id: {type: string, nullable: false}
  line_no: {type: integer, nullable: false}
  reason: {type: string}
  quantity: {type: integer, nullable: false}
  refund_amount: {type: "decimal(18,2)"}
  returned_at: {type: timestamp, nullable: false}
rules:
  - {id: returns.reason_known, check: accepted_values, column: reason,
     values: [damaged, wrong_item, not_needed, other], severity: warning}
  - {id: returns.quantity_positive, check: range, column: quantity, min: 1}
  - {id: returns.order_exists, check: references, column: order_id, table: orders,
     to: order_id, grace: 7d}
table_rules:
  - {id: returns.unique, check: unique}
"""


def test_a_new_feed_is_a_new_yaml_file(tmp_path: Path) -> None:
    folder = tmp_path / "contracts"
    shutil.copytree(SHIPPED, folder)
    (folder / "returns.yaml").write_text(RETURNS_YAML, encoding="utf-8")

    contracts = load_contracts(folder)

    assert sorted(contracts) == [
        "customers",
        "order_lines",
        "orders",
        "products",
        "returns",
        "stores",
    ]
    returns = contracts["returns"]
    assert returns.columns["refund_amount"].sql_type == "DECIMAL(18,2)"
    assert returns.columns["returned_at"].sql_type == "TIMESTAMP"
    assert [(r.table, r.to, r.grace_period) for r in returns.references] == [
        ("orders", "order_id", timedelta(days=7))
    ]
    order = contracts.build_order()
    assert order == ["customers", "stores", "orders", "products", "order_lines", "returns"]
    assert order.index("orders") < order.index("returns")
    assert contracts.table_for_path("landing/web/returns/2024-05-01.csv") == "returns"
    assert contracts.table_for_path("landing/web/orders/2024-05-01.csv") == "orders"
