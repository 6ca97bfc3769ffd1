"""Delta tables read by DuckDB's Parquet reader (`shared/parquet.py`)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from providers.storage import LocalStorage
from shared.lake import Lake
from shared.parquet import local_files, parquet_scan, scanned_columns


def test_files_are_read_by_column_name_with_nulls_where_a_file_lacks_one(tmp_path: Path):
    pq.write_table(pa.table({"a": [1], "b": ["x"]}), tmp_path / "1.parquet")
    pq.write_table(pa.table({"b": ["y"], "a": [2], "c": [True]}), tmp_path / "2.parquet")
    files = [str(tmp_path / "1.parquet"), str(tmp_path / "2.parquet")]
    con = duckdb.connect()
    assert scanned_columns(con, files) == {"a", "b", "c"}
    assert scanned_columns(con, []) == set()
    rows = con.sql(f"SELECT a, b, c FROM {parquet_scan(files)} ORDER BY a").fetchall()
    assert rows == [(1, "x", None), (2, "y", True)]


class _RemoteStorage(LocalStorage):
    """A local folder that does not offer its paths, as a cloud store does not."""

    def local_path(self, path: str) -> str | None:
        return None


def test_a_cloud_tables_files_are_copied_where_duckdb_spills_and_removed_after(
    tmp_path: Path,
):
    lake = Lake(_RemoteStorage(tmp_path / "lake"))
    lake.append("silver.t", pa.table({"k": [1, 2]}))
    lake.append("silver.t", pa.table({"k": [3]}))
    spill = tmp_path / "spill"
    con = duckdb.connect(config={"temp_directory": str(spill)})
    with local_files(lake, con, "silver.t") as files:
        assert len(files) == 2 and all(f.startswith(str(spill)) for f in files)
        assert con.sql(f"SELECT sum(k) FROM {parquet_scan(files)}").fetchall() == [(6,)]
    assert not any(spill.rglob("*.parquet"))
    with local_files(lake, con, "silver.none") as files:
        assert files == []


def test_a_local_tables_files_are_read_in_place(tmp_path: Path):
    lake = Lake(LocalStorage(tmp_path / "lake"))
    lake.append("silver.t", pa.table({"k": [1]}))
    con = duckdb.connect(config={"temp_directory": str(tmp_path / "spill")})
    with local_files(lake, con, "silver.t") as files:
        assert [Path(f).parent for f in files] == [tmp_path / "lake" / "silver" / "t"]
