"""Landing layout: which rows go to which file, file formats, and the ground truth.

Paths are ``<source>/<table>/<YYYY-MM-DD>_<table>_<nn>.<ext>`` relative to the landing
root, where the date is the delivery day and ``nn`` numbers the files of one delivery
(a delivery is split only above ``MAX_ROWS_PER_FILE`` rows).  Within one day, files are
delivered reference data first: customers, products, stores, orders, order lines; pos
before web.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from shared.generate.frame import DEFECT_KINDS, Frame
from shared.generate.retail import Calendar
from shared.generate.writers import FORMATS, write_landing_file

TABLE_ORDER: tuple[str, ...] = ("customers", "products", "stores", "orders", "order_lines")
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "products": ("product_id",),
    "stores": ("store_id",),
    "orders": ("order_id",),
    "order_lines": ("order_id", "line_no"),
}
TABLE_SOURCES: dict[str, tuple[str, ...]] = {
    "customers": ("crm",),
    "products": ("erp",),
    "stores": ("erp",),
    "orders": ("pos", "web"),
    "order_lines": ("pos", "web"),
}
MAX_ROWS_PER_FILE = 250_000


@dataclass(frozen=True)
class PlannedFile:
    """One landing file: ``rows`` are indices into ``frame`` in file order."""

    day: int
    table: str
    source: str
    part: int
    frame: Frame
    rows: np.ndarray
    fmt: str = ""

    def relpath(self, cal: Calendar) -> str:
        name = f"{cal.date_of(self.day).isoformat()}_{self.table}_{self.part:02d}.{self.fmt}"
        return f"{self.source}/{self.table}/{name}"


def _split(frame: Frame) -> Iterator[PlannedFile]:
    """Group a frame's rows by (source, day), ordered by position, chunked."""
    order = np.lexsort((frame.pos, frame.day, frame.source))
    src, day = frame.source[order], frame.day[order]
    cut = np.flatnonzero((src[1:] != src[:-1]) | (day[1:] != day[:-1])) + 1
    for group in np.split(order, cut):
        if len(group) == 0:
            continue
        for part, start in enumerate(range(0, len(group), MAX_ROWS_PER_FILE)):
            yield PlannedFile(
                day=int(frame.day[group[0]]),
                table=frame.table,
                source=frame.sources[int(frame.source[group[0]])],
                part=part + 1,
                frame=frame,
                rows=group[start : start + MAX_ROWS_PER_FILE],
            )


Slot = tuple[int, str, str]  # (delivery day, table, source)


def assign_formats(days: int, rng: np.random.Generator) -> dict[Slot, str]:
    """A file format for every possible delivery slot, decided before any row exists.

    Formats are dealt from consecutive random permutations of ``FORMATS`` over the slots
    in delivery order, rather than drawn independently: every day's first five slots (all
    filled on day 0) already use each format once, and formats stay evenly mixed.  Knowing
    them up front lets defect injection keep exact duplicates within one text rendering.
    """
    formats: dict[Slot, str] = {}
    cycle: list[str] = []
    for day in range(days):
        for table in TABLE_ORDER:
            for source in TABLE_SOURCES[table]:
                if not cycle:
                    cycle = [FORMATS[i] for i in rng.permutation(len(FORMATS)).tolist()]
                formats[(day, table, source)] = cycle.pop()
    return formats


def plan_files(frames: dict[str, Frame], formats: dict[Slot, str]) -> list[PlannedFile]:
    """Every landing file in delivery order, each with its slot's format."""
    files = [f for table in TABLE_ORDER for f in _split(frames[table])]
    files.sort(key=lambda f: (f.day, TABLE_ORDER.index(f.table), f.source, f.part))
    return [replace(f, fmt=formats[(f.day, f.table, f.source)]) for f in files]


def write_all(
    out_dir: Path, cal: Calendar, files: list[PlannedFile], progress: Callable[[str], None] | None
) -> tuple[list[Path], list[dict[str, object]]]:
    """Write every planned file; return the paths and the ground-truth entries.

    Ground-truth entries come out in delivery order of their file, then by row.  Key
    values are written as the raw text of the key columns (None for a null).
    """
    paths: list[Path] = []
    truth: list[dict[str, object]] = []
    day_files = day_rows = 0
    for i, f in enumerate(files):
        rows = pa.array(f.rows.astype(np.int64))
        columns = {name: arr.take(rows) for name, arr in f.frame.columns.items()}
        rel = f.relpath(cal)
        write_landing_file(out_dir / rel, columns, f.fmt)
        paths.append(out_dir / rel)
        flagged = np.flatnonzero(f.frame.defect[f.rows] > 0)
        if len(flagged):
            keys = {c: columns[c].take(pa.array(flagged)).to_pylist() for c in KEY_COLUMNS[f.table]}
            kinds = f.frame.defect[f.rows][flagged]
            for j, at in enumerate(flagged.tolist()):
                truth.append(
                    {
                        "table": f.table,
                        "key": {c: keys[c][j] for c in KEY_COLUMNS[f.table]},
                        "defect": DEFECT_KINDS[int(kinds[j]) - 1],
                        "file": rel,
                        "row": at + 1,
                    }
                )
        day_files += 1
        day_rows += len(f.rows)
        if progress is not None and (i + 1 == len(files) or files[i + 1].day != f.day):
            progress(
                f"{cal.date_of(f.day).isoformat()}: wrote {day_files} files, "
                f"{day_rows} rows (day {f.day + 1} of {cal.days})"
            )
            day_files = day_rows = 0
    return paths, truth


def write_ground_truth(path: Path, truth: list[dict[str, object]]) -> None:
    """One JSON object per line, in the order given."""
    text = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in truth)
    path.write_text(text, encoding="utf-8")
