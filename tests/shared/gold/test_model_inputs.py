"""Which Silver columns a Gold build loads: those its models name, read from the parse tree."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from shared.errors import TerminalError
from shared.gold.models import Model, input_columns, load_models


def _model(name: str, sql: str) -> Model:
    depends = tuple(d for d in ("silver_orders", "silver_order_lines") if d in sql)
    return Model(name, sql, depends)


def test_only_the_columns_a_model_names_are_wanted():
    con = duckdb.connect()
    sql = (
        "-- order_ts in a comment does not count\n"
        "SELECT o.order_id, count(*) AS n, 'status' AS label FROM silver_orders o "
        "JOIN (SELECT order_id FROM silver_order_lines) l USING (order_id) GROUP BY 1"
    )
    wanted = input_columns(con, [_model("m", sql)], {})
    assert wanted == {"silver_orders": {"order_id"}, "silver_order_lines": {"order_id"}}


def test_a_star_straight_from_an_input_wants_every_column_of_it():
    con = duckdb.connect()
    models = [
        _model("a", "SELECT * FROM silver_orders WHERE status = 'placed'"),
        # A star over a CTE does not count: the CTE names what it takes from the input.
        _model("b", "WITH x AS (SELECT order_id FROM silver_order_lines) SELECT x.* FROM x"),
    ]
    wanted = input_columns(con, models, {"silver_orders": {"_processed_at"}})
    assert wanted == {"silver_orders": None, "silver_order_lines": {"order_id"}}


def test_extra_columns_are_added_for_the_builds_own_queries():
    con = duckdb.connect()
    models = [_model("a", "SELECT order_id FROM silver_orders")]
    wanted = input_columns(con, models, {"silver_orders": {"_processed_at"}})
    assert wanted == {"silver_orders": {"order_id", "_processed_at"}}


def test_a_model_that_does_not_parse_is_named(tmp_path: Path):
    con = duckdb.connect()
    with pytest.raises(TerminalError, match="gold model broken"):
        input_columns(con, [_model("broken", "SELECT FROM WHERE silver_orders")], {})


def test_the_shipped_models_load_no_lineage_or_hash_columns():
    wanted = input_columns(duckdb.connect(), load_models(), {})
    for name, columns in wanted.items():
        assert columns is not None, f"{name} is read with a star"
        assert not {"_row_hash", "_source_file", "_batch_id", "_row_number"} & columns, name
