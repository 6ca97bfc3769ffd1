"""Bronze ingest: landing files appended whole to `bronze.<table>`, idempotent per content.

A file is loaded whole or rejected whole with its reason in `_ops.ingest_ledger`; a file
already loaded (same content, same table) is a no-op reported as such.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pyarrow as pa

from shared.background import BackgroundWriter, prefetched
from shared.contracts import ContractSet
from shared.errors import FileRejectedError
from shared.lake import Lake
from shared.landing import read_landing_file
from shared.ops import INGEST_LEDGER, LEDGER_SCHEMA, Run, utcnow

LANDING = "landing"
REJECTED = f"{LANDING}/_rejected"
METADATA_COLUMNS = ["_batch_id", "_source_file", "_ingested_at", "_row_number"]


@dataclass(frozen=True)
class LandingFile:
    """A file to ingest: its name as recorded, and where its bytes are."""

    name: str
    """Recorded as `_source_file`: lake-relative for files in the lake, else the path."""
    local_path: str | None = None
    lake_path: str | None = None
    """Set when the file lives in the lake (it is moved to `_rejected/` when rejected)."""


@dataclass(frozen=True)
class IngestResult:
    source_file: str
    status: Literal["loaded", "duplicate", "rejected"]
    table: str | None = None
    batch_id: str | None = None
    rows: int = 0
    reason: str | None = None
    drift: dict[str, list[str]] = field(default_factory=dict)


# Files of one table are committed together (one Delta commit carrying every file's
# idempotency id), so a folder of small files is not a commit each; everything staged is
# flushed once these bounds (over all tables) are reached, which bounds memory (to twice
# them: one set is staged while the previous one is committed).
MAX_STAGED_ROWS = 1_000_000
MAX_STAGED_FILES = 200


@dataclass
class _Staged:
    file: LandingFile
    table: str
    batch_id: str
    sha: str
    rows: pa.Table
    """The parsed rows; with Bronze's lineage columns once stamped (`_with_lineage`)."""
    drift: dict[str, list[str]]


def ingest_files(
    lake: Lake,
    contracts: ContractSet,
    con: duckdb.DuckDBPyConnection,
    files: Iterable[LandingFile],
    *,
    table: str | None = None,
    progress: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest each file into Bronze; returns one result per file, in input order."""
    run = Run.start("ingest")
    loaded = _loaded_batches(lake)
    results: dict[int, IngestResult] = {}
    ledger: list[dict[str, object]] = []
    staged: dict[str, list[tuple[int, _Staged]]] = {}

    def finish(index: int, result: IngestResult, sha: str, rows: list[dict[str, object]]) -> None:
        results[index] = result
        if result.status != "duplicate":
            rows.append(_ledger_row(result, sha, run.run_id))
        if progress:
            progress(result)

    def flush(batches: dict[str, list[tuple[int, _Staged]]], rows: list[dict[str, object]]) -> None:
        """Commit staged files table by table, then their ledger rows (and those of files
        rejected before them, in `rows`). Runs in the writer thread, on data that is its
        own: the caller has handed both over."""
        for name, batch in batches.items():
            committed = _commit(lake, name, [s for _, s in batch], run.run_id)
            for index, s in batch:
                status: Literal["loaded", "duplicate"] = (
                    "loaded" if s.batch_id in committed else "duplicate"
                )
                result = IngestResult(
                    s.file.name, status, name, s.batch_id, s.rows.num_rows, None, s.drift
                )
                run.rows_read += result.rows if status == "loaded" else 0
                finish(index, result, s.sha, rows)
                if status == "duplicate":
                    # In Bronze already but maybe not yet in the ledger (a crash in
                    # between): the ledger row is keyed by the batch, so it is written at
                    # most once.
                    rows.append(_ledger_row(replace(result, status="loaded"), s.sha, run.run_id))
            _write_ledger(lake, rows)
            rows.clear()
        _write_ledger(lake, rows)

    # Two files are read and parsed at a time (a gzipped JSON file parses on one core).
    def stage(file: LandingFile) -> tuple[_Staged | IngestResult, str]:
        cursor = con.cursor()
        try:
            return _stage(lake, contracts, cursor, file, table, loaded)
        finally:
            cursor.close()

    # The next files are read and parsed while the last ones are committed.
    with BackgroundWriter("ingest-write") as writer:
        for index, (outcome, sha) in enumerate(prefetched(stage, files)):
            if isinstance(outcome, _Staged) and (outcome.table, outcome.batch_id) in loaded:
                # The same content as a file staged while this one was parsed.
                name, batch = outcome.file.name, outcome.batch_id
                outcome = IngestResult(name, "duplicate", outcome.table, batch)
            if isinstance(outcome, IngestResult):
                finish(index, outcome, sha, ledger)
                continue
            # Stamped here, in file order, not where the file was parsed: arrival order
            # decides which of two versions of a row came first.
            outcome.rows = _with_lineage(outcome, utcnow())
            loaded.add((outcome.table, outcome.batch_id))
            staged.setdefault(outcome.table, []).append((index, outcome))
            queued = [s for queue in staged.values() for _, s in queue]
            if (
                len(queued) >= MAX_STAGED_FILES
                or sum(s.rows.num_rows for s in queued) >= MAX_STAGED_ROWS
            ):
                writer.submit(partial(flush, staged, ledger))
                staged, ledger = {}, []
        writer.submit(partial(flush, staged, ledger))
    ordered = [results[i] for i in sorted(results)]
    run.rows_written = run.rows_read
    run.details = {
        status: sum(r.status == status for r in ordered)
        for status in ("loaded", "duplicate", "rejected")
    }
    if ordered:
        run.record(lake, "succeeded")
    return ordered


def _stage(
    lake: Lake,
    contracts: ContractSet,
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    table_override: str | None,
    loaded: set[tuple[str, str]],
) -> tuple[_Staged | IngestResult, str]:
    """Parse one file into Bronze rows, or say why it is a duplicate or rejected."""
    data = _read_bytes(lake, file)
    sha = hashlib.sha256(data).hexdigest()
    table = _table_for(contracts, file.name, table_override)
    batch_id = sha[:32]
    try:
        if table is None:
            raise FileRejectedError(
                f"cannot tell which table {file.name} belongs to",
                hint="put it under <source>/<table>/ in the landing zone or pass --table",
            )
        if (table, batch_id) in loaded:
            return IngestResult(file.name, "duplicate", table, batch_id), sha
        rows, drift = _parse(con, contracts, table, file, data)
    except FileRejectedError as exc:
        if file.lake_path:
            set_aside(lake, file.lake_path, str(exc))
        return IngestResult(file.name, "rejected", table, None, 0, str(exc)), sha
    return _Staged(file, table, batch_id, sha, rows, drift), sha


def _with_lineage(staged: _Staged, now: datetime) -> pa.Table:
    """The staged rows with Bronze's lineage columns (METADATA_COLUMNS)."""
    rows, n = staged.rows, staged.rows.num_rows
    # pa.repeat copies the bytes; a numpy array of Python strings took 0.6 s per 600k rows.
    for name, value in (("_batch_id", staged.batch_id), ("_source_file", staged.file.name)):
        rows = rows.append_column(name, pa.repeat(pa.scalar(value, pa.string()), n))
    rows = rows.append_column(
        "_ingested_at", pa.array(np.full(n, np.datetime64(now, "us")), pa.timestamp("us"))
    )
    return rows.append_column("_row_number", pa.array(np.arange(1, n + 1), pa.int64()))


def set_aside(lake: Lake, lake_path: str, reason: str) -> str | None:
    """Move a landing file to `_rejected/` with a `.reason.txt` beside it; returns where it
    went (None for a file already set aside)."""
    if lake_path.startswith(REJECTED):
        return None
    target = f"{REJECTED}/{lake_path.removeprefix(LANDING + '/')}"
    lake.storage.write_bytes(f"{target}.reason.txt", (reason + "\n").encode())
    # Another instance given the same file may have moved it first.
    with contextlib.suppress(FileNotFoundError):
        lake.storage.move(lake_path, target)
    return target


def record_rejection(lake: Lake, lake_path: str, reason: str, run_id: str) -> IngestResult:
    """Record in the ingest ledger a file set aside outside a normal ingest (a file that
    kept failing)."""
    result = IngestResult(lake_path, "rejected", None, None, 0, reason)
    _write_ledger(lake, [_ledger_row(result, "", run_id)])
    return result


def _commit(lake: Lake, table: str, batch: list[_Staged], run_id: str) -> set[str]:
    """Append staged files in one commit and return the batch ids it committed; a batch
    already in Bronze (an earlier attempt that stopped before its ledger rows, or another
    instance ingesting the same file at the same time) is left out."""
    ids = {f"ingest-{table}-{s.batch_id}": s for s in batch}
    committed = lake.append_batches(
        f"bronze.{table}",
        {app_id: s.rows for app_id, s in ids.items()},
        metadata={"run_id": run_id, "files": str(len(batch))},
    )
    return {ids[app_id].batch_id for app_id in committed}


def _parse(
    con: duckdb.DuckDBPyConnection,
    contracts: ContractSet,
    table: str,
    file: LandingFile,
    data: bytes,
) -> tuple[pa.Table, dict[str, list[str]]]:
    contract = contracts[table]
    if file.local_path:
        rows = read_landing_file(con, file.local_path, file.name)
    else:
        suffix = "".join(Path(file.name).suffixes[-2:])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"file{suffix}")
            Path(path).write_bytes(data)
            rows = read_landing_file(con, path, file.name)
    if rows.num_rows == 0:
        raise FileRejectedError(
            f"{file.name} holds no data rows", hint="an empty extract is not loaded; resend it"
        )
    present = set(rows.column_names)
    reserved = sorted(present & set(METADATA_COLUMNS))
    if reserved:
        raise FileRejectedError(f"{file.name} uses reserved column names: {', '.join(reserved)}")
    missing_required = [c for c in contract.required_columns if c not in present]
    if missing_required:
        raise FileRejectedError(
            f"{file.name} lacks required column(s) {', '.join(missing_required)} "
            f"of contract {table} v{contract.version}",
            hint=f"have the source send them, or set required: false in contracts/{table}.yaml",
        )
    added = [c for c in rows.column_names if c not in contract.columns]
    if added and contract.schema_drift.additive == "reject":
        raise FileRejectedError(
            f"{file.name} has columns not in contract {table}: {', '.join(added)}",
            hint=f"add them to contracts/{table}.yaml or set schema_drift.additive: carry",
        )
    missing_optional = [c for c in contract.columns if c not in present]
    drift = {k: v for k, v in {"added": added, "missing": missing_optional}.items() if v}
    return rows, drift


def _table_for(contracts: ContractSet, name: str, override: str | None) -> str | None:
    by_pattern = contracts.table_for_path(name)
    if by_pattern:
        return by_pattern
    parent = Path(name).parent.name
    if parent in contracts.contracts:
        return parent
    if override and override in contracts.contracts:
        return override
    if override:
        contracts[override]  # raises a ContractError naming the known tables
    return None


def _read_bytes(lake: Lake, file: LandingFile) -> bytes:
    if file.local_path:
        return Path(file.local_path).read_bytes()
    if file.lake_path:
        return lake.storage.read_bytes(file.lake_path)
    raise ValueError(f"{file.name}: neither a local path nor a lake path")


def _loaded_batches(lake: Lake) -> set[tuple[str, str]]:
    ledger = lake.read(INGEST_LEDGER, columns=["table_name", "batch_id", "status"])
    if ledger is None:
        return set()
    rows = ledger.to_pydict()
    return {
        (t, b)
        for t, b, s in zip(rows["table_name"], rows["batch_id"], rows["status"], strict=True)
        if s == "loaded"
    }


def _write_ledger(lake: Lake, rows: list[dict[str, object]]) -> None:
    """One commit; a loaded batch's row is keyed by the batch, so two instances that
    ingested the same file at once record it once."""
    keyed = {
        f"ledger-{row['table_name']}-{row['batch_id']}"
        if row["status"] == "loaded"
        else f"ledger-{uuid.uuid4().hex}": pa.Table.from_pylist([row], schema=LEDGER_SCHEMA)
        for row in rows
    }
    if keyed:
        lake.append_batches(INGEST_LEDGER, keyed)


def _ledger_row(result: IngestResult, sha: str, run_id: str) -> dict[str, object]:
    return {
        "source_file": result.source_file,
        "content_sha256": sha,
        "table_name": result.table,
        "batch_id": result.batch_id,
        "status": result.status,
        "rows": result.rows,
        "reason": result.reason,
        "schema_drift": json.dumps(result.drift) if result.drift else None,
        "run_id": run_id,
        "ingested_at": utcnow(),
    }


def landing_files(lake: Lake, names: Iterable[str] | None = None) -> list[LandingFile]:
    """Files in the landing zone (all, or those named by lake path), skipping anything
    under a name starting with '_' or '.' (`_rejected/`, ground truth, temporary files)."""
    paths = lake.storage.list(LANDING) if names is None else list(names)
    files = []
    for path in paths:
        parts = path.strip("/").split("/")
        if parts[0] != LANDING or len(parts) < 2:
            raise FileRejectedError(
                f"{path} is not in the landing zone",
                hint=f"name files by their lake path, such as {LANDING}/pos/orders/x.csv",
            )
        if not any(part[:1] in "_." for part in parts[1:]):
            files.append(LandingFile(path, lake.storage.local_path(path), path))
    return files


def discover(paths: Iterable[str], lake: Lake) -> list[LandingFile]:
    """Expand files and folders into landing files, sorted; names starting with '_' or '.'
    (ground truth, `_rejected/`, temporary files) are skipped inside folders."""
    root = lake.storage.local_path("")
    files: list[LandingFile] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if not path.exists():
            raise FileRejectedError(
                f"no such file or folder: {raw}",
                hint="check the path; with no paths, ingest reads <lake>/landing",
            )
        candidates = (
            [path]
            if path.is_file()
            else sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part[:1] in "_." for part in p.relative_to(path).parts)
            )
        )
        for candidate in candidates:
            files.append(_landing_file(candidate, root))
    return files


def _landing_file(path: Path, lake_root: str | None) -> LandingFile:
    if lake_root:
        try:
            relative = path.relative_to(lake_root).as_posix()
        except ValueError:
            relative = None
        if relative is not None:
            in_landing = relative.startswith(LANDING + "/")
            return LandingFile(relative, str(path), relative if in_landing else None)
    return LandingFile(str(path), str(path), None)
