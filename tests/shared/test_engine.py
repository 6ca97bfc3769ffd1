"""DuckDB connections: the memory limit, lowered for a while and put back."""

from __future__ import annotations

import os

import duckdb
import pyarrow as pa
import pytest

from shared.engine import _bytes, connect, memory_capped, memory_limit
from shared.settings import Settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [("640.0 MiB", 640 * 2**20), ("2GB", 2e9), ("1.5 GiB", 1.5 * 2**30), ("512 KB", 512e3)],
)
def test_sizes_parse_as_duckdb_renders_them(text, expected):
    assert _bytes(text) == expected


def test_an_unknown_size_is_refused():
    with pytest.raises(ValueError, match="not a DuckDB memory size"):
        _bytes("lots")


def test_a_limit_given_as_a_share_of_ram_reads_in_bytes():
    con = duckdb.connect(config={"memory_limit": "50%"})
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_limit(con) == pytest.approx(ram / 2, rel=0.05)


def test_the_limit_is_lowered_inside_and_put_back_after():
    con = duckdb.connect(config={"memory_limit": "900MB"})
    with memory_capped(con, 256 * 2**20):
        assert memory_limit(con) == 256 * 2**20
    # DuckDB renders the limit to a tenth of its unit, so it comes back that close.
    assert memory_limit(con) == pytest.approx(900e6, rel=1e-3)


def test_the_limit_is_put_back_when_the_work_fails():
    con = duckdb.connect(config={"memory_limit": "900MB"})
    with pytest.raises(RuntimeError), memory_capped(con, 256 * 2**20):
        raise RuntimeError("writer failed")
    assert memory_limit(con) == pytest.approx(900e6, rel=1e-3)


def test_a_lower_limit_is_never_raised():
    con = duckdb.connect(config={"memory_limit": "100MB"})
    with memory_capped(con, 256 * 2**20):
        assert memory_limit(con) == pytest.approx(100e6, rel=1e-3)


def test_a_job_connection_gives_arrow_a_pool_that_returns_memory(tmp_path, monkeypatch):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool()
    try:
        connect(Settings.from_env(lake_url=str(tmp_path)))
        assert pa.default_memory_pool().backend_name == "jemalloc"
    finally:
        pa.set_memory_pool(before)
