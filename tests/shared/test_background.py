from __future__ import annotations

import threading

import pytest

from shared.background import BackgroundWriter, prefetched


def test_writes_run_one_at_a_time_in_submission_order() -> None:
    done: list[int] = []
    running = threading.Semaphore(1)

    def write(i: int) -> None:
        assert running.acquire(blocking=False), "two writes ran at once"
        try:
            done.append(i)
        finally:
            running.release()

    with BackgroundWriter() as writer:
        for i in range(20):
            writer.submit(lambda i=i: write(i))
    assert done == list(range(20))


def test_the_caller_goes_on_while_a_write_runs() -> None:
    started, release = threading.Event(), threading.Event()

    def write() -> None:
        started.set()
        assert release.wait(5)

    with BackgroundWriter() as writer:
        writer.submit(write)
        assert started.wait(5)
        release.set()  # reached only because submit did not wait for the write


def test_a_failed_write_is_raised_by_the_next_submit() -> None:
    later: list[str] = []

    def fail() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), BackgroundWriter() as writer:
        writer.submit(fail)
        writer.submit(lambda: later.append("ran"))
    assert later == []


def test_leaving_waits_for_the_last_write_and_raises_its_error() -> None:
    def fail() -> None:
        raise ValueError("bad commit")

    with pytest.raises(ValueError, match="bad commit"), BackgroundWriter() as writer:
        writer.submit(fail)


def test_an_error_of_the_block_wins_but_the_pending_write_still_finishes() -> None:
    finished = threading.Event()
    release = threading.Event()

    def write() -> None:
        assert release.wait(5)
        finished.set()
        raise OSError("also failed")

    with pytest.raises(KeyError, match="chunk"), BackgroundWriter() as writer:
        writer.submit(write)
        release.set()
        raise KeyError("chunk")
    assert finished.is_set()


def test_prefetched_keeps_order_and_works_ahead_in_threads() -> None:
    gate = threading.Barrier(2, timeout=5)

    def work(i: int) -> int:
        if i < 2:
            gate.wait()  # passes only if items 0 and 1 are worked on at once
        return i * 10

    assert list(prefetched(work, range(5))) == [0, 10, 20, 30, 40]


def test_prefetched_raises_an_error_in_its_turn() -> None:
    def work(i: int) -> int:
        if i == 2:
            raise ValueError("item 2")
        return i

    seen = []
    with pytest.raises(ValueError, match="item 2"):
        for value in prefetched(work, range(5)):
            seen.append(value)
    assert seen == [0, 1]


def test_prefetched_reads_only_a_few_items_ahead() -> None:
    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        return i

    results = prefetched(work, iter(range(100)), ahead=2)
    assert next(results) == 0
    assert max(started) <= 2
