"""SQL projecting a Silver build's decisions into the rows it writes: Silver rows,
quarantine rows and dropped-row records."""

from __future__ import annotations

from shared.contracts import Contract
from shared.engine import literal, quote
from shared.silver.classify import stale_failure_sql
from shared.silver.validate import LINEAGE, raw

LINEAGE_SQL = ", ".join(LINEAGE)


def silver_columns(contract: Contract, carried: list[str]) -> list[str]:
    """Business columns of the Silver table, in contract order, then schema-drift columns."""
    return [*contract.columns, *carried]


def silver_rows_sql(contract: Contract, carried: list[str], source: str) -> str:
    """Silver rows from `source` (winners, or SCD2 versions with `_vf`/`_vt`)."""
    cols = ", ".join(quote(c) for c in silver_columns(contract, carried))
    scd = ""
    if contract.scd2:
        scd = ", _vf AS valid_from, _vt AS valid_to, _vt IS NULL AS is_current"
    return f"""
        SELECT {cols}{scd}, _row_hash, {LINEAGE_SQL}, _dq_warnings,
            $run_id AS _run_id, $processed_at::TIMESTAMP AS _processed_at
        FROM {source}
    """


def quarantine_rows_sql(contract: Contract, carried: list[str]) -> str:
    """Quarantine rows: critical failures (pending while every failure is a missing parent
    within its grace period) and stale versions. The raw row is the normalised text with
    PII already hashed."""
    keys = ", ".join(f"{raw(k)} AS {quote(k)}" for k in contract.keys)
    fields = [f"{quote(c)} := {raw(c)}" for c in contract.columns] + [
        f"{quote(c)} := {quote(c)}" for c in carried
    ]
    raw_row = f"to_json(struct_pack({', '.join(fields)}))"
    grace = _grace_case(contract)
    pending = (
        f"_only_references AND list_bool_and(list_transform(_failures, "
        f"lambda f: run_now() - _ingested_at < {grace}))"
    )
    return f"""
        WITH bad AS (
            SELECT *, _failures AS _all, {pending} AS _pending, _only_references AS _retry
            FROM rows WHERE rowid IN (SELECT _rid FROM outcomes WHERE _outcome = 'quarantine')
            UNION ALL
            SELECT *, {stale_failure_sql(contract)} AS _all, false AS _pending, false AS _retry
            FROM rows WHERE rowid IN (SELECT _rid FROM candidates WHERE _stale)
        )
        SELECT {keys},
            _all[1].rule_id AS rule_id, _all[1].reason AS reason, _all[1].severity AS severity,
            list_transform(_all, lambda f: f.rule_id) AS failed_rules,
            list_transform(_all, lambda f: f.reason) AS reasons,
            CASE WHEN _pending THEN 'pending' ELSE 'quarantined' END AS status,
            _retry AS retryable,
            $contract_version::BIGINT AS contract_version, $run_id AS run_id,
            run_now() AS quarantined_at, run_now() AS checked_at,
            NULL::VARCHAR AS released_run_id, NULL::TIMESTAMP AS released_at,
            {raw_row} AS raw_row, _row_hash, {LINEAGE_SQL}
        FROM bad
    """


def _grace_case(contract: Contract) -> str:
    whens = " ".join(
        f"WHEN {literal(rule.id)} THEN INTERVAL {int(rule.grace_period.total_seconds())} SECOND"
        for rule in contract.references
    )
    return f"(CASE f.rule_id {whens} ELSE INTERVAL 0 SECOND END)" if whens else "INTERVAL 0 SECOND"


def dropped_rows_sql(
    contract: Contract, source: str, reason: str, *, prefix: str = "", raw_keys: bool = False
) -> str:
    """Dropped-row records for rows of `source`; `prefix` selects `_silver_*` lineage and
    `raw_keys` the normalised text of the keys (for rows that may not type)."""
    key_of = raw if raw_keys else quote
    key = f"to_json(struct_pack({', '.join(f'{quote(k)} := {key_of(k)}' for k in contract.keys)}))"
    if prefix:
        lineage = (
            f"{prefix}batch AS _batch_id, {prefix}file AS _source_file, "
            f"{prefix}row AS _row_number, {prefix}hash AS _row_hash"
        )
    else:
        lineage = "_batch_id, _source_file, _row_number, _row_hash"
    return f"""
        SELECT {literal(contract.table)} AS table_name, {literal(reason)} AS reason,
            {key} AS key, {lineage}, $run_id AS run_id, run_now() AS dropped_at
        FROM {source}
    """


def merge_keys(contract: Contract) -> list[str]:
    """The columns that identify a Silver row: the key, and valid_from for SCD2 versions."""
    return [*contract.keys, *(["valid_from"] if contract.scd2 else [])]


def replacing_sql(contract: Contract, rows: str) -> str:
    """The Silver rows of query `rows` with `_replaces`: whether a row with its merge key
    is in Silver already (`silver_keyed` holds every version of the input's keys), i.e.
    whether a MERGE would update rather than insert it."""
    keys = merge_keys(contract)
    match = " AND ".join(f"s.{quote(k)} = o.{quote(k)}" for k in keys)
    return f"""
        SELECT *, EXISTS (SELECT 1 FROM silver_keyed s WHERE {match}) AS _replaces
        FROM ({rows}) o
    """
