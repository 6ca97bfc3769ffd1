"""The `lakehouse` command line, called in-process (`shared.cli.main` returns the exit
code) with a lake in a temporary folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest

from providers.storage import LocalStorage
from shared import cli, jobs
from shared.lake import Lake
from shared.ops import RUNS
from shared.settings import PACKAGE_ROOT
from tests.shared.generate.landing_reader import read_file

TABLES = ("customers", "products", "stores", "orders", "order_lines")
CLEAN_ENV = (
    "LAKEHOUSE_LAKE",
    "LAKEHOUSE_CONTRACTS",
    "LAKEHOUSE_SECRETS",
    "PII_HASH_KEY",
    "LAKEHOUSE_DUCKDB_MEMORY",
    "LAKEHOUSE_DUCKDB_THREADS",
    "LAKEHOUSE_DUCKDB_TEMP",
)


@dataclass
class Out:
    code: int
    out: str
    err: str


def isolate(patch: pytest.MonkeyPatch, root: Path) -> None:
    """No setting leaks in from the machine: cwd (for .env), secrets folder, variables."""
    for name in CLEAN_ENV:
        patch.delenv(name, raising=False)
    patch.setenv("LAKEHOUSE_SECRETS_DIR", str(root / "secrets"))
    patch.chdir(root)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate(monkeypatch, tmp_path)
    return tmp_path


def call(*args: str) -> Out:
    """Run the CLI in-process; output captured here so module fixtures can use it too."""
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(args))
    return Out(code, out.getvalue(), err.getvalue())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Out:
    capsys.readouterr()
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return Out(code, captured.out, captured.err)


def landing_files(landing: Path) -> list[Path]:
    return sorted(
        p
        for p in landing.rglob("*")
        if p.is_file() and not any(part.startswith("_") for part in p.relative_to(landing).parts)
    )


@dataclass
class Session:
    root: Path
    lake: Path
    generate: Out
    ingest: Out
    reingest: Out
    build: Out
    rebuild: Out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """generate -> ingest -> ingest -> build silver -> build silver, all via the CLI."""
    root = tmp_path_factory.mktemp("cli")
    lake = root / "lake"
    with pytest.MonkeyPatch.context() as patch:
        isolate(patch, root)
        steps = Session(
            root,
            lake,
            call("--lake", str(lake), "generate", "--days", "2", "--orders-per-day", "20"),
            call("ingest", "--lake", str(lake)),
            call("--lake", str(lake), "ingest"),
            call("--lake", str(lake), "build", "silver"),
            call("build", "silver", "--lake", str(lake)),
        )
    yield steps


@pytest.fixture
def built(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the session's built lake (and its PII key), for one test."""
    shutil.copytree(session.lake, tmp_path / "lake")
    shutil.copytree(session.root / "secrets", tmp_path / "secrets")
    isolate(monkeypatch, tmp_path)
    return tmp_path / "lake"


# --- help and options -------------------------------------------------------------------


def test_help_lists_the_commands(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: lakehouse")
    for command in ("generate", "ingest", "build", "status", "quarantine", "demo", "--lake"):
        assert command in out


def test_subcommand_help(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["quarantine", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--replay" in out and "--samples" in out and "--lake" in out


def test_unknown_command_is_a_usage_error(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["frobnicate"])
    assert exit_.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize("before", [True, False])
def test_lake_before_or_after_the_subcommand(
    env: Path, capsys: pytest.CaptureFixture[str], before: bool
) -> None:
    lake = env / "somewhere"
    args = ["--lake", str(lake), "status"] if before else ["status", "--lake", str(lake)]
    result = run(capsys, *args)
    assert result.code == 0, result.err
    assert f"lake: {lake.as_uri()}" in result.out
    assert "not built yet" in result.out


def test_lake_defaults_to_the_environment(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_LAKE", str(env / "from-env"))
    assert f"lake: {(env / 'from-env').as_uri()}" in run(capsys, "status").out
    # --lake wins over the environment.
    assert f"lake: {(env / 'flag').as_uri()}" in run(capsys, "status", "--lake", "flag").out


# --- generate, ingest, build ------------------------------------------------------------


def test_generate_writes_files_and_prints_counts(session: Session) -> None:
    result = session.generate
    assert result.code == 0, result.err
    landing = session.lake / "landing"
    files = landing_files(landing)
    rows = sum(len(read_file(p)) for p in files)
    assert len(files) == 13  # 7 files on the first day (stores too), 6 on the second
    assert f"wrote {len(files)} files, {rows:,} rows to {landing}" in result.out
    assert "injected defects: {" in result.out
    assert f"ground truth: {landing / '_ground_truth.jsonl'}" in result.out
    assert (landing / "_ground_truth.jsonl").is_file()
    assert result.out.count("wrote 7 files") + result.out.count("wrote 6 files") == 2


def test_ingest_defaults_to_the_landing_folder(session: Session) -> None:
    result = session.ingest
    assert result.code == 0, result.err
    files = landing_files(session.lake / "landing")
    rows = sum(len(read_file(p)) for p in files)
    assert f"{len(files)} loaded ({rows:,} rows), 0 unchanged, 0 rejected" in result.out
    assert result.out.count("loaded    landing/") == len(files)
    assert "_ground_truth" not in result.out


def test_second_ingest_reports_every_file_unchanged(session: Session) -> None:
    result = session.reingest
    assert result.code == 0, result.err
    assert "0 loaded (0 rows), 13 unchanged, 0 rejected" in result.out
    assert result.out.count("unchanged landing/") == 13


def test_build_silver_prints_a_line_per_table_and_the_status(session: Session) -> None:
    result = session.build
    assert result.code == 0, result.err
    lines = [line for line in result.out.splitlines() if line.startswith("silver.")]
    assert [line.split(":")[0] for line in lines] == [
        "silver.customers",
        "silver.stores",
        "silver.orders",
        "silver.products",
        "silver.order_lines",
    ]
    lake = Lake(LocalStorage(str(session.lake)))
    for line in lines:
        table = line.split(":")[0].removeprefix("silver.")
        bronze = lake.read(f"bronze.{table}").num_rows
        silver = lake.read(f"silver.{table}").num_rows
        assert f"{bronze:,} new rows, {silver:,} to silver" in line, line
    assert re.search(r"^Silver run silver-\S+: succeeded\.$", result.out, re.M), result.out


def test_second_build_is_a_noop(session: Session) -> None:
    result = session.rebuild
    assert result.code == 0, result.err
    assert [line for line in result.out.splitlines() if line.endswith(": nothing new")] == [
        f"silver.{t}: nothing new" for t in ("customers", "stores", "orders", "products")
    ] + ["silver.order_lines: nothing new"]
    assert re.search(r"Silver run silver-\S+: nothing new to build \(no-op\)\.", result.out)


def test_ingest_exits_1_when_a_file_is_rejected(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = env / "lake" / "landing" / "pos" / "orders" / "2026-01-01_orders_01.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("order_id,customer_id\nO1,C1\n", encoding="utf-8")
    result = run(capsys, "--lake", str(env / "lake"), "ingest")
    assert result.code == 1
    assert "rejected  landing/pos/orders/2026-01-01_orders_01.csv: " in result.out
    assert "0 loaded (0 rows), 0 unchanged, 1 rejected" in result.out
    assert (env / "lake" / "landing" / "_rejected" / "pos" / "orders" / bad.name).is_file()


def test_ingest_explicit_file_with_table_option(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drop = env / "drop.csv"
    drop.write_text("store_id,store_name,city,country,channel\nS1,Main,Leeds,GB,store\n")
    result = run(capsys, "ingest", str(drop), "--table", "stores", "--lake", str(env / "lake"))
    assert result.code == 0, result.err
    assert "1 loaded (1 rows), 0 unchanged, 0 rejected" in result.out
    assert f"{drop} -> bronze.stores (1 rows)" in result.out


def test_build_gold_publishes_then_is_a_noop(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "build", "gold", "--lake", str(built))
    assert result.code == 0, result.err
    assert "gold.fact_sales:" in result.out
    assert re.search(r"^Gold run gold-\S+: 9 tables", result.out, re.M)
    # `build all`: nothing new in Silver, so Gold is a no-op too.
    result = run(capsys, "build", "all", "--lake", str(built))
    assert result.code == 0
    assert "nothing new to build" in result.out
    assert "Silver unchanged since the last Gold (no-op)" in result.out
    result = run(capsys, "build", "gold", "--full-refresh", "--lake", str(built))
    assert "gold.kpi_monthly:" in result.out


# --- status and quarantine --------------------------------------------------------------


def test_status_lists_runs_and_tables(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "status", "--lake", str(built))
    assert result.code == 0, result.err
    assert "Latest runs" in result.out and "Tables" in result.out
    runs = Lake(LocalStorage(str(built))).read(RUNS).to_pylist()
    # ingest (loaded), ingest (all unchanged), silver, silver (no-op)
    assert sorted((r["job"], r["status"]) for r in runs) == [
        ("ingest", "succeeded"),
        ("ingest", "succeeded"),
        ("silver", "noop"),
        ("silver", "succeeded"),
    ]
    for r in runs:
        assert r["run_id"] in result.out
    for layer in ("bronze", "silver", "quarantine"):
        for table in TABLES:
            assert f"{layer}.{table}" in result.out
    for name in ("_ops.runs", "_ops.ingest_ledger", "_ops.dropped_rows"):
        assert name in result.out


def _raw_pii(lake: Path) -> set[str]:
    values: set[str] = set()
    for path in landing_files(lake / "landing"):
        if "customers" in path.parts:
            for row in read_file(path):
                for column in ("email", "phone"):
                    if row[column] and row[column].strip():
                        values |= {row[column].strip(), row[column].strip().lower()}
    return values


def test_quarantine_lists_rules_and_samples_without_pii(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "quarantine", "--lake", str(built))
    assert result.code == 0, result.err
    assert "Quarantine by rule" in result.out
    lake = Lake(LocalStorage(str(built)))
    rules = set()
    for table in TABLES:
        held = lake.read(f"quarantine.{table}")
        if held is not None:
            rules |= {r["rule_id"] for r in held.to_pylist() if r["status"] != "released"}
    assert "customers.email_format" in rules
    for rule in rules:
        assert rule in result.out
        # A sample per rule (the default is 2): "  <rule> <file>#<row>: <reason>".
        assert re.search(rf"^  {re.escape(rule)} landing/\S+#\d+: ", result.out, re.M), rule
    assert "email does not match the expected format: <pii>" in result.out
    pii = _raw_pii(built)
    assert len(pii) > 500
    leaked = sorted(v for v in pii if v in result.out)
    assert not leaked, leaked[:5]


def test_quarantine_filters_by_table_and_samples(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("quarantine", "--table", "customers", "--samples", "0", "--lake", str(built))
    result = run(capsys, *args)
    assert result.code == 0
    assert "customers.email_format" in result.out
    for other in ("stores.", "orders.", "products.", "order_lines."):
        assert other not in result.out
    assert "#" not in result.out  # no samples


def test_quarantine_replay_runs(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "quarantine", "--replay", "--lake", str(built))
    assert result.code == 0, result.err
    assert re.search(r"^replayed \d+ held rows: 0 released, \d+ still held$", result.out, re.M)
    assert "Quarantine by rule" in result.out
    runs = Lake(LocalStorage(str(built))).read(RUNS).to_pylist()
    assert sum(r["job"] == "silver_replay" for r in runs) == 1


def test_quarantine_replay_counts_rows_still_held(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = Lake(LocalStorage(str(built)))
    held = sum(
        sum(s != "released" for s in lake.read(f"quarantine.{t}").column("status").to_pylist())
        for t in TABLES
        if lake.read(f"quarantine.{t}") is not None
    )
    assert held > 0
    result = run(capsys, "quarantine", "--replay", "--lake", str(built))
    assert f"replayed {held:,} held rows: 0 released, {held:,} still held" in result.out


# --- errors -----------------------------------------------------------------------------


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def test_unsupported_lake_scheme_is_one_line_and_a_hint(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "--lake", "ftp://host/x", "status")
    assert result.code == 2
    lines = _error_lines(result.err)
    assert len(lines) == 2, result.err
    assert lines[0].startswith("error: ") and "'ftp' is not supported" in lines[0]
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in result.err + result.out


def test_missing_ingest_path_is_an_error(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "--lake", str(env / "lake"), "ingest", "/no/such/file")
    assert result.code == 2
    lines = _error_lines(result.err)
    assert lines[0] == "error: no such file or folder: /no/such/file"
    assert "Traceback" not in result.err
    assert not (env / "lake" / "bronze").exists()


def test_missing_ingest_path_error_has_a_hint(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "--lake", str(env / "lake"), "ingest", "/no/such/file")
    lines = _error_lines(result.err)
    assert len(lines) == 2 and lines[1].startswith("hint: ")


def test_unknown_table_for_ingest_is_an_error(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drop = env / "drop.csv"
    drop.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run(capsys, "--lake", str(env / "lake"), "ingest", str(drop), "--table", "nope")
    assert result.code == 2
    assert _error_lines(result.err)[0].startswith("error: ")
    assert "nope" in result.err


def test_unknown_table_for_build_is_an_error(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "build", "silver", "--table", "nope", "--lake", str(built))
    assert result.code == 2
    assert "nope" in result.err


def test_demo_refuses_a_folder_it_did_not_make(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "mine").mkdir()
    (env / "mine" / "keep.txt").write_text("x", encoding="utf-8")
    result = run(capsys, "demo", "--lake", str(env / "mine"), "--days", "1")
    assert result.code == 2
    lines = _error_lines(result.err)
    assert "was not made by the demo" in lines[0]
    assert lines[-1].startswith("hint: ")
    assert (env / "mine" / "keep.txt").is_file()


def test_unexpected_exception_is_one_line_without_traceback(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "build_silver_job", boom)
    result = run(capsys, "--lake", str(env / "lake"), "build", "silver")
    assert result.code == 1
    lines = _error_lines(result.err)
    assert lines == [
        "error: unexpected RuntimeError: boom",
        "hint: rerun with --debug for the traceback, and report it",
    ]
    assert "Traceback" not in result.out + result.err


def test_debug_lets_the_exception_through(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "build_silver_job", boom)
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["--lake", str(env / "lake"), "build", "silver", "--debug"])
    # --debug before the subcommand, and for errors the platform raises on purpose.
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["--debug", "--lake", str(env / "lake"), "build", "silver"])


def test_python_m_shared_help_as_a_subprocess(env: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    environ["LAKEHOUSE_SECRETS_DIR"] = str(env / "secrets")
    environ["PYTHONPATH"] = str(PACKAGE_ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "shared", "--help"],
        cwd=env,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: lakehouse")
    assert "build" in done.stdout and "quarantine" in done.stdout
