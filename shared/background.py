"""Work beside the main thread: one write at a time in a background thread, so the next
piece of work is computed while the last one's Delta commit is encoded and written; and
work on the next items prefetched in threads.

DuckDB and delta-rs both release the GIL, so on two cores a chunk's SQL and the previous
chunk's Parquet encoding run side by side. Only one write is ever pending: submitting the
next waits for the previous, which bounds the extra memory to one piece's results and keeps
the commits in submission order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def prefetched(work: Callable[[T], R], items: Iterable[T], ahead: int = 2) -> Iterator[R]:
    """`work` applied to each item, in order, with up to `ahead` items worked on at once in
    threads (for work that releases the GIL, such as parsing a file). Results come in the
    order of `items`; an error is raised when its item's turn comes."""
    with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="prefetch") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


class BackgroundWriter:
    """Use as a context: leaving it waits for the pending write (and raises its error,
    unless the block is already leaving with one of its own)."""

    def __init__(self, name: str = "writer") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: Future[None] | None = None

    def submit(self, write: Callable[[], None]) -> None:
        """Start `write` once the previous write has finished (its error is raised here)."""
        self.wait()
        self._pending = self._pool.submit(write)

    def wait(self) -> None:
        """Block until nothing is pending; raise the pending write's error, if any."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self.wait()
            elif self._pending is not None:
                # The block's own error is the one to report; the write still finishes
                # (or fails) before the caller records the run, so nothing is torn.
                self._pending.exception()
                self._pending = None
        finally:
            self._pool.shutdown(wait=True)
