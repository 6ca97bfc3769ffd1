"""Pipeline benchmark: landing files -> Bronze (ingest) -> Silver -> Gold, timed separately.

    python benchmarks/pipeline.py --order-lines 1000000

Generates seeded retail data with about N order lines (not timed), then runs ingest, the
Silver build and the Gold build each in its own process, and prints seconds, rows per
second (rows read: landing rows for ingest and Silver, fact rows for Gold) and the peak
resident memory of each phase, then the size of each layer of the lake on disk. The lake
lives in a temporary folder (or --workdir).

    python benchmarks/pipeline.py --order-lines 10000000 --days 60 --daily 2

With --daily K, the last K delivery days are held back from that first load, then delivered
and timed one day at a time: ingest, an incremental Silver build and an incremental Gold
build, as a scheduled run would do them each day on a lake holding the days before.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINES_PER_ORDER = 1.9  # the generator's average


def main() -> int:
    args = _parse()
    if args.phase:
        return _run_phase(args)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="lakehouse-bench-"))
    # Generated in a child process too: a child forked from a large parent would report
    # the parent's memory as its own peak.
    command = [sys.executable, __file__, "--phase", "generate", "--workdir", str(workdir)]
    command += ["--order-lines", str(args.order_lines), "--days", str(args.days)]
    subprocess.run(command, check=True, cwd=ROOT)
    held = _hold_back_last_days(workdir, args.daily)
    print(f"lake: {workdir / 'lake'}   DuckDB memory limit: {args.memory_limit}")
    _run_phases(workdir, args, "first load" if held else "")
    for day, files in held.items():
        for original, aside in files:
            aside.rename(original)
        print(f"then the files of {day}: {len(files)}")
        _run_phases(workdir, args, "daily")
    return 0


def _run_phases(workdir: Path, args: argparse.Namespace, label: str) -> None:
    print(f"{label or 'phase':<12}{'seconds':>10}{'rows':>14}{'rows/s':>14}{'peak MB':>10}")
    total = 0.0
    for phase in ("ingest", "silver", "gold"):
        seconds, rows, peak_mb = _measure(phase, workdir, args, incremental=label == "daily")
        total += seconds
        rate = rows / seconds if seconds else 0.0
        print(f"{phase:<12}{seconds:>10.2f}{rows:>14,}{rate:>14,.0f}{peak_mb:>10,.0f}")
    print(f"{'total':<12}{total:>10.2f}")
    print(_lake_sizes(workdir / "lake"))


def _lake_sizes(lake: Path) -> str:
    """The bytes each layer of the lake takes on disk (Delta logs and Parquet files)."""
    parts = []
    for layer in ("bronze", "silver", "quarantine", "gold", "_ops"):
        size = sum(f.stat().st_size for f in (lake / layer).rglob("*") if f.is_file())
        parts.append(f"{layer} {size / 1e6:,.1f}")
    return "lake MB: " + ", ".join(parts)


def _hold_back_last_days(workdir: Path, days: int) -> dict[str, list[tuple[Path, Path]]]:
    """Move the landing files of the last `days` delivery days (named <date>_<table>_NN.*)
    aside; returns, day by day in order, where each file was and where it went."""
    landing = workdir / "lake" / "landing"
    files = [f for f in landing.rglob("*") if f.is_file() and f.name[:4].isdigit()]
    last = sorted({f.name[:10] for f in files})[-days:] if days else []
    held: dict[str, list[tuple[Path, Path]]] = {}
    for index, file in enumerate(sorted(f for f in files if f.name[:10] in last)):
        target = workdir / "held_back" / f"{index:03d}_{file.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        file.rename(target)
        held.setdefault(file.name[:10], []).append((file, target))
    return dict(sorted(held.items()))


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--order-lines", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=10, help="days of deliveries to spread them over")
    p.add_argument("--workdir", help="folder for the lake (default: a new temporary folder)")
    p.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit (spills above)")
    p.add_argument(
        "--daily",
        type=int,
        nargs="?",
        const=1,
        default=0,
        metavar="K",
        help="hold back the last K delivery days (default 1), then deliver them one at a time",
    )
    p.add_argument("--incremental", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--phase", choices=["generate", "ingest", "silver", "gold"], help=argparse.SUPPRESS
    )
    return p.parse_args()


def _measure(
    phase: str, workdir: Path, args: argparse.Namespace, *, incremental: bool = False
) -> tuple[float, int, float]:
    """Run one phase in a child process; its own rusage gives its peak memory."""
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--workdir",
        str(workdir),
        "--memory-limit",
        args.memory_limit,
        *(["--incremental"] if incremental else []),
    ]
    out = workdir / f"{phase}.out"
    with out.open("w") as handle:
        child = subprocess.Popen(command, stdout=handle, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        sys.exit(f"{phase} failed; see {out}")
    seconds, rows = out.read_text().split()
    return float(seconds), int(rows), usage.ru_maxrss / 1024


def _generate(args: argparse.Namespace) -> int:
    from shared.generate import GenerateOptions, generate

    per_day = max(1, round(args.order_lines / (args.days * LINES_PER_ORDER)))
    started = time.perf_counter()
    result = generate(
        Path(args.workdir) / "lake" / "landing",
        GenerateOptions(days=args.days, seed=7, orders_per_day=per_day, end_date=date(2026, 1, 31)),
    )
    print(
        f"generated {sum(result.rows.values()):,} landing rows "
        f"({result.rows['order_lines']:,} order lines) in {len(result.files)} files, "
        f"{time.perf_counter() - started:.1f}s (not part of the figures)"
    )
    return 0


def _run_phase(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    if args.phase == "generate":
        return _generate(args)
    from shared.jobs import build_gold_job, build_silver_job, ingest_paths
    from shared.settings import Settings

    settings = Settings.from_env(
        lake_url=str(Path(args.workdir) / "lake"), duckdb_memory_limit=args.memory_limit
    )
    started = time.perf_counter()
    if args.phase == "ingest":
        rows = sum(r.rows for r in ingest_paths(settings, []))
    elif args.phase == "silver":
        rows = sum(t.rows_read for t in build_silver_job(settings).tables)
    else:
        result = build_gold_job(settings, full_refresh=not args.incremental)
        if result.status != "succeeded":
            sys.exit(f"gold {result.status}: {result.blocked_by}")
        rows = result.tables.get("fact_sales", 0)
    print(time.perf_counter() - started, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
