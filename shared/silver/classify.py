"""Deciding each input row's outcome, as SQL over DuckDB temp tables.

Every Bronze row read by a Silver build gets exactly one outcome:
- `applied`: its lineage is already in Silver (a re-run after a crash); nothing to do;
- `duplicate`: an exact copy (same content hash) of a row already held, or of an earlier
  row of this input; dropped and recorded in `_ops.dropped_rows`;
- `quarantine`: a critical rule failed, or it is `stale` (older than a version of its key
  delivered before it); kept in `quarantine.<table>` with every reason;
- `silver`: the version of its key that Silver keeps;
- `superseded`: a newer or winning version of its key replaced it (recorded as dropped).
Ties on the sequence column are broken by the larger content hash, so the result does not
depend on arrival order.
"""

from __future__ import annotations

from shared.contracts import Contract
from shared.engine import literal, quote
from shared.silver.validate import LINEAGE

ARRIVAL = "_ingested_at, _batch_id, _row_number"


def keys_match(contract: Contract, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quote(k)} = {right}.{quote(k)}" for k in contract.keys)


def partition(contract: Contract) -> str:
    return ", ".join(quote(k) for k in contract.keys)


def seq_expr(contract: Contract, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return f"{prefix}{quote(contract.sequence)}" if contract.sequence else "NULL::TIMESTAMP"


def beats_silver(alias: str = "") -> str:
    """SQL: the candidate (columns `_seq`, `_row_hash`, `_silver_*` under `alias`) is a
    newer version than its key's current Silver row, or its key has none."""
    p = f"{alias}." if alias else ""
    return (
        f"({p}_silver_hash IS NULL OR {p}_seq > {p}_silver_seq "
        f"OR ({p}_seq = {p}_silver_seq AND {p}_row_hash > {p}_silver_hash))"
    )


def outcome_sql(contract: Contract) -> str:
    """Adds `_outcome` (applied | duplicate | quarantine | candidate) to table `rows`, using
    `known` (hash and lineage of rows already held) and `silver_seen` (Silver lineage),
    and `_arrival`, the row's batch's place in arrival order (from `batch_arrival`). Only
    what later steps compare is kept: the typed key, sequence, hash, `_row_number` and
    origin; the rest of a row (its text and batch lineage) is read from `rows` by `_rid`
    where an output needs it."""
    lineage_eq = "k._batch_id = r._batch_id AND k._row_number = r._row_number"
    keys = [f"r.{quote(k)}" for k in contract.keys]
    columns = ", ".join([*keys, "r._seq", "r._row_hash", "r._row_number", "r._origin"])
    # Each flag is the set of row ids a plain join finds, tested with IN: written as EXISTS
    # subqueries inside the CASE, DuckDB carried the rows through correlated joins, 3.7 times
    # as long. Only content seen more than once needs ordering: an aggregate finds it, and
    # the window then runs over those few rows instead of the whole input.
    return f"""
        WITH later_copies AS (
            SELECT _rid FROM (
                SELECT rowid AS _rid,
                    row_number() OVER (PARTITION BY _row_hash ORDER BY {ARRIVAL}) AS _copy
                FROM rows
                WHERE _row_hash IN (
                    SELECT _row_hash FROM rows GROUP BY _row_hash HAVING count(*) > 1)
            ) WHERE _copy > 1
        ),
        applied AS (SELECT r.rowid AS _rid FROM rows r JOIN silver_seen k ON {lineage_eq}),
        copies AS (
            SELECT r.rowid AS _rid FROM rows r JOIN known k ON k._row_hash = r._row_hash
            WHERE NOT ({lineage_eq})
            UNION ALL SELECT _rid FROM later_copies
        )
        SELECT r.rowid AS _rid, {columns}, a._arrival,
            CASE
                WHEN r.rowid IN (SELECT _rid FROM applied) THEN 'applied'
                WHEN r.rowid IN (SELECT _rid FROM copies) THEN 'duplicate'
                WHEN r._failed THEN 'quarantine'
                ELSE 'candidate'
            END AS _outcome
        FROM rows r LEFT JOIN batch_arrival a ON a._batch_id = r._batch_id
    """


def with_lineage(source: str) -> str:
    """Relation `source` (rows with `_rid`, from `outcomes` or a table derived from it)
    with the batch lineage of each row, read from `rows`."""
    return (
        f"(SELECT s.*, r._batch_id, r._source_file, r._ingested_at "
        f"FROM {source} s JOIN rows r ON r.rowid = s._rid)"
    )


def candidates_sql(contract: Contract) -> str:
    """Valid rows with their key's current Silver version and the stale flag. A row is
    stale when its sequence is older than a version of its key that arrived in an earlier
    batch (or is in Silver); versions within one batch are history, not staleness."""
    scd = ", s.valid_from AS _silver_valid_from" if contract.scd2 else ""
    keys = partition(contract)
    if contract.sequence:
        # The newest version of the key among earlier batches: a window over batch places
        # (batches before this row's, not its own). Grouping versions by batch first and
        # keeping keys delivered in more than one batch took 1.2 s instead of 0.9 s for the
        # chunks of the 1M benchmark.
        prior = f"""
            LEFT JOIN (
                SELECT _rid, max(_seq) OVER (PARTITION BY {keys} ORDER BY _arrival
                    RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS _prior_seq
                FROM outcomes WHERE _outcome = 'candidate'
            ) p ON p._rid = c._rid"""
        newest_before = "greatest(coalesce(p._prior_seq, s._seq), coalesce(s._seq, p._prior_seq))"
        stale = f"c._seq < {newest_before}"
    else:
        prior, stale = "", "false"
    return f"""
        SELECT c.*, s._seq AS _silver_seq, s._row_hash AS _silver_hash,
            s._batch_id AS _silver_batch, s._row_number AS _silver_row,
            s._source_file AS _silver_file{scd},
            coalesce({stale}, false) AS _stale
        FROM (SELECT * FROM outcomes WHERE _outcome = 'candidate') c
        LEFT JOIN (SELECT *, {seq_expr(contract)} AS _seq FROM silver_cur) s
            ON {keys_match(contract, "c", "s")}{prior}
    """


def stale_failure_sql(contract: Contract) -> str:
    seq = contract.sequence or "sequence"
    reason = (
        f"{literal(seq + ' ')} || strftime(_seq, '%Y-%m-%dT%H:%M:%S') || "
        + literal(" is older than a version of this key received before it;")
        + " || "
        + literal(" history is not rewritten")
    )
    return (
        f"[struct_pack(rule_id := {literal(contract.table + '.stale_record')}, reason := {reason}, "
        "severity := 'warning', \"check\" := 'sequence')]"
    )


def latest_sql(contract: Contract) -> str:
    """Non-SCD tables: `_rid` and `_wins` of every fresh candidate: one winner per key (an
    aggregate, not a window: hash grouping runs in parallel), compared with Silver. Only
    these two columns are kept: copying the candidates' text took most of the time."""
    order = "_seq, _row_hash" if contract.sequence else "_arrival, _row_number"
    # Without a sequence column the newest arrival wins, so it always beats Silver.
    wins = beats_silver("f") if contract.sequence else "true"
    keys = partition(contract)
    used = "_rid, _seq, _row_hash, _arrival, _row_number, _silver_seq, _silver_hash"
    return f"""
        WITH fresh AS (SELECT {keys}, {used} FROM candidates WHERE NOT _stale),
        winners AS (
            SELECT {keys}, arg_max(_rid, ({order})) AS _winner FROM fresh GROUP BY ALL
        )
        SELECT f._rid, (f._rid = w._winner AND {wins}) AS _wins
        FROM fresh f JOIN winners w USING ({keys})
    """


def scd2_fresh_sql(contract: Contract) -> str:
    """SCD2 candidates that beat their key's current version. Of several with the same key
    and sequence (the same instant), the largest content hash wins and the others are
    `_collapsed` (superseded): one instant opens at most one version."""
    return f"""
        SELECT *, row_number() OVER (PARTITION BY {partition(contract)}, _seq
                                     ORDER BY _row_hash DESC) > 1 AS _collapsed
        FROM candidates WHERE NOT _stale AND {beats_silver()}
    """


def replaced_current_sql(contract: Contract) -> str:
    """Current versions that a fresh winner with the same instant replaces outright (the
    version started at exactly that sequence and never changed since)."""
    return f"""
        SELECT * FROM silver_cur s
        WHERE EXISTS (SELECT 1 FROM scd_fresh f WHERE NOT f._collapsed
                      AND {keys_match(contract, "f", "s")} AND f._seq = s.valid_from)
    """


def scd2_sql(contract: Contract, columns: list[str]) -> str:
    """SCD2 tables: the rows of each affected key (its current version plus the fresh
    candidates that beat it), ordered by sequence and grouped into islands of equal tracked
    values. Each island is one version, valid from its first row (or the current version's
    valid_from) and carrying its last row's values: `_pos` = 1 marks that last row, the
    others are superseded by an in-place update."""
    assert contract.scd2
    tracked = ", ".join(
        f"coalesce(CAST({quote(c)} AS VARCHAR), chr(0))" for c in contract.scd2.tracked
    )
    keys = partition(contract)
    cols = ", ".join(quote(c) for c in columns)
    lineage = ", ".join(LINEAGE)
    order = "_seq, _existing DESC, _row_hash"
    return f"""
        WITH base AS (
            SELECT {", ".join("r." + quote(c) for c in columns)},
                {", ".join("r." + x for x in LINEAGE)}, c._row_hash, c._seq, r._dq_warnings,
                c._rid, false AS _existing, NULL::TIMESTAMP AS _existing_vf
            FROM scd_fresh c JOIN rows r ON r.rowid = c._rid
            WHERE NOT c._collapsed
            UNION ALL
            SELECT {cols}, {lineage}, _row_hash, {seq_expr(contract)} AS _seq,
                _dq_warnings, NULL::BIGINT AS _rid, true AS _existing, valid_from AS _existing_vf
            FROM silver_cur s
            WHERE EXISTS (SELECT 1 FROM scd_fresh c WHERE NOT c._collapsed
                          AND {keys_match(contract, "c", "s")})
              AND NOT EXISTS (SELECT 1 FROM replaced_current r
                              WHERE r._batch_id = s._batch_id AND r._row_number = s._row_number)
        ),
        flagged AS (
            SELECT *, concat_ws(chr(31), {tracked}) AS _tracked,
                lag(concat_ws(chr(31), {tracked})) OVER (PARTITION BY {keys} ORDER BY {order})
                    AS _prev_tracked
            FROM base
        ),
        islands AS (
            SELECT *, sum(CASE WHEN _prev_tracked IS NULL OR _prev_tracked <> _tracked
                               THEN 1 ELSE 0 END)
                      OVER (PARTITION BY {keys} ORDER BY {order} ROWS UNBOUNDED PRECEDING)
                      AS _island
            FROM flagged
        )
        SELECT *,
            coalesce(max(_existing_vf) OVER (PARTITION BY {keys}, _island),
                     min(_seq) OVER (PARTITION BY {keys}, _island)) AS _vf,
            row_number() OVER (PARTITION BY {keys}, _island
                               ORDER BY _seq DESC, _existing, _row_hash DESC) AS _pos
        FROM islands
    """


def scd2_versions_sql(contract: Contract) -> str:
    """The kept rows of `placed` as versions with valid_to and is_current."""
    return f"""
        SELECT *, lead(_vf) OVER (PARTITION BY {partition(contract)} ORDER BY _vf) AS _vt
        FROM placed WHERE _pos = 1
    """


def fates_sql(contract: Contract) -> str:
    """One row per input row: its `_origin` (new or retry) and final `fate` (applied,
    duplicate, quarantine, silver or superseded)."""
    parts = [
        "SELECT _origin, _outcome AS fate FROM outcomes WHERE _outcome <> 'candidate'",
        "SELECT _origin, 'quarantine' FROM candidates WHERE _stale",
    ]
    if contract.scd2:
        parts += [
            "SELECT _origin, 'superseded' FROM candidates "
            f"WHERE NOT _stale AND NOT {beats_silver()}",
            "SELECT _origin, 'superseded' FROM scd_fresh WHERE _collapsed",
            "SELECT c._origin, CASE WHEN p._pos = 1 THEN 'silver' ELSE 'superseded' END "
            "FROM placed p JOIN candidates c USING (_rid) WHERE NOT p._existing",
        ]
    else:
        parts.append(
            "SELECT _origin, CASE WHEN _wins THEN 'silver' ELSE 'superseded' END FROM decided"
        )
    return " UNION ALL ".join(parts)
