"""Shared defect-injection machinery: budgets, candidate choice and copy-based defects.

``TableInjector`` owns one table's frame while its defects are injected.  It guarantees
the invariants the ground truth relies on: at most one defect row per business key
(``choose`` marks keys used), copies of clean rows only, and positions that put a
same-delivery copy after its original.  The kinds every keyed table shares (``null_key``,
``exact_duplicate``, ``stale_redelivery``) live here; ``defects`` has the table-specific ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from shared.generate.frame import DEFECT_CODE, DEFECT_KINDS, NO_NEXT, Frame, ts_str
from shared.generate.layout import Slot
from shared.generate.writers import TIMESTAMP_COLUMNS, timestamp_rendering

# Written into a key column by ``null_key``: a null, an empty and whitespace-only strings.
NULL_KEYS: tuple[str | None, ...] = (None, "", "   ", " ")


def allocate(budget: int, kinds: tuple[str, ...], rng: np.random.Generator) -> dict[str, int]:
    """Split ``budget`` over ``kinds``: one each first, the remainder multinomially."""
    k = len(kinds)
    if budget <= 0:
        counts = np.zeros(k, np.int64)
    elif budget < k:
        counts = np.bincount(rng.choice(k, size=budget, replace=False), minlength=k)
    else:
        counts = 1 + rng.multinomial(budget - k, np.full(k, 1.0 / k))
    return {kind: int(c) for kind, c in zip(kinds, counts, strict=True)}


@dataclass
class TableInjector:
    """Injects the defects of one table; ``frame`` gains extra rows on :meth:`finish`."""

    frame: Frame
    days: int
    rng: np.random.Generator
    used: np.ndarray  # per entity: already carries a defect row
    # [source, day] -> timestamp rendering of that delivery's file format; None when the
    # table has no timestamp column (every format then reads back the same text).
    render: np.ndarray | None = None
    counts: dict[str, int] = field(default_factory=dict)
    extras: list[Frame] = field(default_factory=list)

    @classmethod
    def start(
        cls, frame: Frame, days: int, rng: np.random.Generator, formats: dict[Slot, str]
    ) -> TableInjector:
        n_entities = int(frame.entity.max()) + 1 if len(frame) else 0
        render = None
        if TIMESTAMP_COLUMNS & set(frame.columns):
            render = np.array(
                [
                    [timestamp_rendering(formats[(d, frame.table, source)]) for d in range(days)]
                    for source in frame.sources
                ]
            )
        return cls(frame, days, rng, np.zeros(n_entities, bool), render)

    def candidates(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Clean rows of unused entities (further limited by ``mask``)."""
        ok = (self.frame.defect == 0) & ~self.used[self.frame.entity]
        return np.flatnonzero(ok if mask is None else ok & mask)

    def choose(self, rows: np.ndarray, k: int) -> np.ndarray:
        """Up to ``k`` of ``rows`` at random, at most one per entity, marked used."""
        if k <= 0 or len(rows) == 0:
            return rows[:0]
        # A random sample of a few times k rows almost always holds k distinct entities
        # (keys have at most four versions) and avoids shuffling millions of candidates.
        sample = self.rng.choice(rows, size=min(len(rows), 4 * k + 32), replace=False)
        _, first = np.unique(self.frame.entity[sample], return_index=True)
        if len(first) < k and len(sample) < len(rows):
            sample = self.rng.permutation(rows)
            _, first = np.unique(self.frame.entity[sample], return_index=True)
        picked = np.sort(sample[np.sort(first)[: min(k, len(first))]])
        self.used[self.frame.entity[picked]] = True
        return picked

    def pick(self, values: tuple[str | None, ...], n: int) -> list[str | None]:
        return [values[i] for i in self.rng.integers(len(values), size=n).tolist()]

    def in_place(self, kind: str, rows: np.ndarray, column: str, values: list[str | None]) -> None:
        """Overwrite ``column`` of ``rows`` and flag them with ``kind``."""
        self.frame.set_text(column, rows, values)
        self.frame.defect[rows] = DEFECT_CODE[kind]
        self.counts[kind] = self.counts.get(kind, 0) + len(rows)

    def extra(
        self,
        kind: str,
        rows: np.ndarray,
        day: np.ndarray | None = None,
        after_original: bool = False,
    ) -> Frame:
        """Copies of ``rows`` flagged ``kind``, delivered on ``day`` (default: same day).

        ``after_original`` places a same-day copy after its original in the delivery, so
        the later occurrence is always the flagged one.
        """
        copy = self.frame.take(rows)
        copy.defect[:] = DEFECT_CODE[kind]
        if day is not None:
            copy.day = np.asarray(day, np.int32)
        end = self._group_ends()[copy.source, copy.day]
        u = self.rng.random(len(rows))
        same_day = copy.day == self.frame.day[rows]
        copy.pos = np.where(
            after_original & same_day, copy.pos + 0.25 + u * (end - copy.pos), u * end
        )
        self.extras.append(copy)
        self.counts[kind] = self.counts.get(kind, 0) + len(rows)
        return copy

    def _group_ends(self) -> np.ndarray:
        """[source, day] -> 1 + the largest position in that delivery (0 when empty).

        Positions, not row counts: rows may have been dropped since positions were set.
        """
        ends = np.zeros((len(self.frame.sources), self.days + 1), np.float64)
        np.maximum.at(ends, (self.frame.source, self.frame.day), self.frame.pos + 1)
        return ends

    # --- the kinds every keyed table shares -------------------------------------------
    def null_key(self, k: int, column: str) -> None:
        rows = self.choose(self.candidates(), k)
        self.extra("null_key", rows).set_text(
            column, np.arange(len(rows)), self.pick(NULL_KEYS, len(rows))
        )

    def exact_duplicate(self, k: int) -> None:
        """Copies delivered the same day or up to 2 days later, before the key's next
        version, and only into a file whose format reads back the same text."""
        rows = self.choose(self.candidates(), k)
        f = self.frame
        src, day = f.source[rows], f.day[rows].astype(np.int64)
        last = np.minimum(np.minimum(f.next_day[rows].astype(np.int64) - 1, day + 2), self.days - 1)
        options = day[:, None] + np.arange(3)[None, :]
        ok = options <= last[:, None]
        if self.render is not None:
            # Parquet timestamps read back differently from text ones, and even from file
            # to file (a column holding a wrong_type value stays text): only text formats
            # exchange copies; Parquet copies stay in their original's file.
            clipped = np.minimum(options, self.days - 1)
            text_days = (self.render[src[:, None], clipped] == 0) & (
                self.render[src, day][:, None] == 0
            )
            ok &= text_days | (options == day[:, None])
        # Offset 0 (the same delivery) is always allowed; pick uniformly among allowed ones.
        offset = np.argmax(self.rng.random(ok.shape) * ok, axis=1)
        self.extra("exact_duplicate", rows, day + offset, after_original=True)

    def stale_redelivery(self, k: int) -> int:
        """Old version re-sent after its successor, with an updated_at between the two."""
        f = self.frame
        has_room = (f.next_day != NO_NEXT) & (f.next_day <= self.days - 2) & (f.next_ts - f.ts >= 2)
        rows = self.choose(self.candidates(has_room), k)
        gap = f.next_ts[rows] - f.ts[rows] - 1
        ts = f.ts[rows] + 1 + (self.rng.random(len(rows)) * gap).astype(np.int64)
        span = np.minimum(3, self.days - 1 - f.next_day[rows])
        day = f.next_day[rows] + 1 + (self.rng.random(len(rows)) * span).astype(int)
        copy = self.extra("stale_redelivery", rows, day)
        copy.ts = ts
        copy.set_text("updated_at", np.arange(len(rows)), [ts_str(t) for t in ts.tolist()])
        return len(rows)

    def finish(self) -> Frame:
        """The table's rows with every extra row appended (positions decide file order)."""
        for extra in self._without_collisions():
            self.frame = self.frame.concat(extra)
        self.extras = []
        return self.frame

    def _without_collisions(self) -> list[Frame]:
        """Drop key-corrupted copies whose content equals another such copy's.

        Blanking or garbling the key of low-entropy rows (two order lines with the same
        product, quantity, price and discount) can make two defect rows identical once
        trimmed and lower-cased; a reader would then see an exact duplicate on top of the
        intended defect.  Exact duplicates and stale copies keep a real key and never collide.
        """
        corrupting = {DEFECT_CODE["null_key"], DEFECT_CODE["wrong_type"]}
        seen: set[tuple[str | None, ...]] = set()
        kept = []
        for extra in self.extras:
            if len(extra) == 0 or int(extra.defect[0]) not in corrupting:
                kept.append(extra)
                continue
            rows = zip(*(arr.to_pylist() for arr in extra.columns.values()), strict=True)
            keep = []
            for i, row in enumerate(rows):
                content = tuple(_normalised(v) for v in row)
                if content not in seen:
                    seen.add(content)
                    keep.append(i)
            kind = DEFECT_KINDS[int(extra.defect[0]) - 1]
            self.counts[kind] -= len(extra) - len(keep)
            kept.append(extra.take(np.array(keep, dtype=np.int64)))
        return kept


def _normalised(value: str | None) -> str | None:
    """Text as a trimming, case-insensitive reader compares it (blank -> None)."""
    text = (value or "").strip().lower()
    return text or None


def run_kinds(
    inj: TableInjector,
    kinds: tuple[str, ...],
    key_column: str,
    budget: int,
    handlers: dict[str, Callable[[int], object]],
    after_in_place: Callable[[], None] | None = None,
) -> None:
    """Inject ``budget`` defects into ``inj``'s table, kind by kind in ``kinds`` order.

    ``handlers`` implement the table's own kinds (and may override the shared ones);
    ``after_in_place`` runs once before the first shared copy-based kind.  What a kind
    could not place (too few candidates) rolls over to ``null_key``, which must come last.
    """
    plan = allocate(budget, kinds, inj.rng)
    shared: dict[str, Callable[[int], object]] = {
        "stale_redelivery": inj.stale_redelivery,
        "exact_duplicate": inj.exact_duplicate,
        "null_key": lambda k: inj.null_key(k, key_column),
    }
    shortfall = 0
    for kind in kinds:
        if kind in shared and after_in_place is not None:
            after_in_place()
            after_in_place = None
        want = plan[kind] + (shortfall if kind == "null_key" else 0)
        before = inj.counts.get(kind, 0)
        handler = handlers.get(kind) or shared[kind]
        handler(want)
        shortfall += want - (inj.counts.get(kind, 0) - before)
