"""Leases: at most one build of a kind at a time, on any backend, with no lock service.

A lease is a row in `_ops.leases`; taking or giving it back is a compare-and-set on the
table's Delta transaction version for `lease-<job>`, so of two instances that look at a free
lease at once, Delta lets one commit and refuses the other. A lease expires on its own after
its time-to-live, so an instance that dies holding one blocks nobody for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa

from shared.lake import Lake

LEASES = "_ops.leases"
LEASE_SCHEMA = pa.schema(
    [
        pa.field("job", pa.string()),
        pa.field("sequence", pa.int64()),
        pa.field("run_id", pa.string()),
        pa.field("taken_at", pa.timestamp("us")),
        pa.field("expires_at", pa.timestamp("us")),
        pa.field("released", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, and until when."""

    run_id: str
    expires_at: datetime


def take(lake: Lake, job: str, run_id: str, now: datetime, ttl: timedelta) -> Holder | None:
    """Take the lease for `job`; returns None when taken, else who holds it (the caller
    must not run)."""
    sequence, holder = _state(lake, job, now)
    if holder is not None:
        return holder
    row = _row(job, sequence + 1, run_id, now, now + ttl, released=False)
    if lake.append_versioned(LEASES, row, app_id=f"lease-{job}", expected=sequence):
        return None
    _, holder = _state(lake, job, now)
    # Lost the race: whoever won holds it (or, if it came and went already, it is free
    # again, but this instance stands down rather than loop).
    return holder or Holder("another instance", now)


def give_back(lake: Lake, job: str, run_id: str, now: datetime) -> None:
    """Give the lease back, if this run still holds it."""
    sequence, holder = _state(lake, job, now)
    if holder is None or holder.run_id != run_id:
        return
    row = _row(job, sequence + 1, run_id, now, now, released=True)
    lake.append_versioned(LEASES, row, app_id=f"lease-{job}", expected=sequence)


def _state(lake: Lake, job: str, now: datetime) -> tuple[int, Holder | None]:
    """The lease's last sequence number and its live holder, if any."""
    data = lake.read(LEASES)
    rows = [r for r in (data.to_pylist() if data is not None else []) if r["job"] == job]
    if not rows:
        return 0, None
    last = max(rows, key=lambda r: r["sequence"])
    live = not last["released"] and last["expires_at"] > now
    return last["sequence"], Holder(last["run_id"], last["expires_at"]) if live else None


def _row(
    job: str, sequence: int, run_id: str, taken: datetime, expires: datetime, *, released: bool
) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "job": job,
                "sequence": sequence,
                "run_id": run_id,
                "taken_at": taken,
                "expires_at": expires,
                "released": released,
            }
        ],
        schema=LEASE_SCHEMA,
    )
