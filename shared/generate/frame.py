"""Column-oriented row sets (``Frame``) and vectorised text formatting.

Large tables (orders, order lines) run to millions of rows, so rows are never Python
objects: every landing column is a pyarrow string array and all per-row bookkeeping lives in
numpy arrays of the same length.  Small tables use the same structure so that defect
injection and file layout have a single code path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SECONDS_PER_DAY = 86_400
EPOCH = date(1970, 1, 1)

# Defect kinds as written to the ground truth; the index + 1 is the code kept in
# ``Frame.defect`` (0 means a clean row).
DEFECT_KINDS: tuple[str, ...] = (
    "null_key",
    "wrong_type",
    "non_positive_quantity",
    "discount_out_of_range",
    "future_order_date",
    "malformed_email",
    "unknown_status",
    "orphan_reference",
    "late_reference",
    "exact_duplicate",
    "stale_redelivery",
)
DEFECT_CODE: dict[str, int] = {kind: i + 1 for i, kind in enumerate(DEFECT_KINDS)}

NO_NEXT = np.iinfo(np.int32).max  # ``next_day`` of the newest version of a key


@dataclass
class Frame:
    """All landing rows of one table, clean rows first, defect rows flagged.

    ``columns`` holds the landing columns (string arrays, in landing order).  The numpy
    arrays are per-row bookkeeping, never written:

    - ``source``: index into the table's source list (``pos``/``web`` for orders and lines).
    - ``day``: delivery day index (0 = first delivery day).
    - ``pos``: sort key of the row inside its (source, day) delivery.
    - ``entity``: index of the business key (customer, product, store, order or line).
    - ``version``: 0 for the first delivery of a key, then 1, 2, ... for updates.
    - ``ts``: updated_at in epoch seconds (lines: their order's; stores: 0).  Orders rows in
      a delivery by this.
    - ``next_day`` / ``next_ts``: delivery day and updated_at of the key's next version
      (``NO_NEXT`` / -1 for the newest one).
    - ``parent``: lines: the order entity; other tables: -1.
    - ``defect``: 0 for clean rows, else ``DEFECT_CODE[kind]``.
    """

    table: str
    sources: tuple[str, ...]
    columns: dict[str, pa.Array]
    source: np.ndarray
    day: np.ndarray
    pos: np.ndarray
    entity: np.ndarray
    version: np.ndarray
    ts: np.ndarray
    next_day: np.ndarray
    next_ts: np.ndarray
    parent: np.ndarray
    defect: np.ndarray

    def __len__(self) -> int:
        return len(self.day)

    def _meta_names(self) -> list[str]:
        return [f.name for f in fields(self) if f.name not in ("table", "sources", "columns")]

    def take(self, idx: np.ndarray) -> Frame:
        """Rows ``idx`` (in that order) as a new frame."""
        indices = pa.array(np.asarray(idx, dtype=np.int64))
        cols = {name: arr.take(indices) for name, arr in self.columns.items()}
        meta = {name: getattr(self, name)[idx] for name in self._meta_names()}
        return replace(self, columns=cols, **meta)

    def concat(self, other: Frame) -> Frame:
        """This frame's rows followed by ``other``'s (same table)."""
        cols = {
            name: pa.concat_arrays([arr, other.columns[name]]) for name, arr in self.columns.items()
        }
        meta = {
            name: np.concatenate([getattr(self, name), getattr(other, name)])
            for name in self._meta_names()
        }
        return replace(self, columns=cols, **meta)

    def set_text(self, column: str, idx: np.ndarray, values: Sequence[str | None]) -> None:
        """Overwrite ``column`` at rows ``idx`` with ``values`` (None writes a null)."""
        if len(idx) == 0:
            return
        idx = np.asarray(idx, dtype=np.int64)
        order = np.argsort(idx, kind="stable")
        mask = np.zeros(len(self), dtype=bool)
        mask[idx] = True
        # replace_with_mask consumes replacements in row order, hence the sort.
        replacements = pa.array([values[i] for i in order], type=pa.string())
        self.columns[column] = pc.replace_with_mask(
            self.columns[column], pa.array(mask), replacements
        )

    def text(self, column: str, idx: np.ndarray) -> list[str | None]:
        """Python values of ``column`` at rows ``idx``."""
        return self.columns[column].take(pa.array(np.asarray(idx, dtype=np.int64))).to_pylist()


def build_frame(
    table: str,
    sources: tuple[str, ...],
    columns: dict[str, pa.Array],
    *,
    source: np.ndarray,
    day: np.ndarray,
    entity: np.ndarray,
    version: np.ndarray,
    ts: np.ndarray,
    parent: np.ndarray | None = None,
) -> Frame:
    """Frame of clean rows; derives ``next_day``/``next_ts`` and delivery positions.

    Rows of one (source, day) delivery are ordered by ``ts`` (then by input order), which
    is what an extract ordered by updated_at would look like.
    """
    n = len(day)
    day = np.asarray(day, dtype=np.int32)
    entity = np.asarray(entity, dtype=np.int64)
    version = np.asarray(version, dtype=np.int32)
    ts = np.asarray(ts, dtype=np.int64)

    next_day = np.full(n, NO_NEXT, dtype=np.int32)
    next_ts = np.full(n, -1, dtype=np.int64)
    by_key = np.lexsort((version, entity))
    same = entity[by_key][1:] == entity[by_key][:-1]
    prev_rows, next_rows = by_key[:-1][same], by_key[1:][same]
    next_day[prev_rows] = day[next_rows]
    next_ts[prev_rows] = ts[next_rows]

    source = np.asarray(source, dtype=np.int8)
    order = np.lexsort((np.arange(n), ts, day, source))
    pos = np.empty(n, dtype=np.float64)
    group_start = np.ones(n, dtype=bool)
    group_start[1:] = (source[order][1:] != source[order][:-1]) | (
        day[order][1:] != day[order][:-1]
    )
    starts = np.flatnonzero(group_start)
    sizes = np.diff(np.append(starts, n))
    pos[order] = np.arange(n) - np.repeat(starts, sizes)

    return Frame(
        table=table,
        sources=sources,
        columns=columns,
        source=source,
        day=day,
        pos=pos,
        entity=entity,
        version=version,
        ts=ts,
        next_day=next_day,
        next_ts=next_ts,
        parent=np.full(n, -1, dtype=np.int64) if parent is None else np.asarray(parent),
        defect=np.zeros(n, dtype=np.int8),
    )


# --- vectorised text formatting --------------------------------------------------------

_TIME_OF_DAY: pa.Array | None = None


def _time_vocab() -> pa.Array:
    global _TIME_OF_DAY
    if _TIME_OF_DAY is None:
        _TIME_OF_DAY = pa.array(
            [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(SECONDS_PER_DAY)]
        )
    return _TIME_OF_DAY


def vocab_text(values: np.ndarray, render: Callable[[int], str]) -> pa.Array:
    """Render integer ``values`` through ``render``, calling it once per distinct value."""
    values = np.asarray(values, dtype=np.int64)
    uniq, inverse = np.unique(values, return_inverse=True)
    return pa.array([render(int(v)) for v in uniq], type=pa.string()).take(pa.array(inverse))


def ts_text(secs: np.ndarray) -> pa.Array:
    """Epoch seconds -> ``YYYY-MM-DDTHH:MM:SS`` (UTC, no zone)."""
    secs = np.asarray(secs, dtype=np.int64)
    dates = vocab_text(secs // SECONDS_PER_DAY, lambda d: (EPOCH + timedelta(days=d)).isoformat())
    times = _time_vocab().take(pa.array(secs % SECONDS_PER_DAY))
    return pc.binary_join_element_wise(dates, times, "T")


def ts_str(secs: int) -> str:
    """Scalar version of :func:`ts_text`."""
    day, sod = divmod(int(secs), SECONDS_PER_DAY)
    stamp = EPOCH + timedelta(days=day)
    return f"{stamp.isoformat()}T{sod // 3600:02d}:{sod // 60 % 60:02d}:{sod % 60:02d}"


def money_str(cents: int) -> str:
    """Integer cents -> ``"12.50"``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{frac:02d}"


def id_text(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers``: ``id_text("O", [42], 8)`` -> ``O00000042``."""
    digits = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(digits, width=width, padding="0"), "")
