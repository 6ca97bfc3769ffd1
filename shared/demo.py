"""`lakehouse demo`: generate retail data, deliver it day by day into a fresh lake,
build Silver after each delivery (as the timer would), and score detection."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from pathlib import Path

import pyarrow as pa

from shared.engine import connect
from shared.errors import ConfigError
from shared.generate import GenerateOptions, GenerateResult, generate
from shared.gold.build import GoldResult, build_gold
from shared.ingest import LANDING, IngestResult, LandingFile, ingest_files
from shared.jobs import Platform
from shared.ops import DROPPED_ROWS
from shared.report import write_report
from shared.scoring import DetectionScore, load_ground_truth, score
from shared.settings import Settings
from shared.silver.build import SilverResult, build_silver

DEMO_MARKER = ".lakehouse-demo"


@dataclass
class DemoResult:
    generated: GenerateResult
    ingested: list[IngestResult]
    builds: list[SilverResult]
    gold: GoldResult
    report: str
    """Path of the HTML report in the lake."""
    score: DetectionScore


def prepare_lake(settings: Settings) -> Path:
    """A fresh local lake folder: created, or emptied when an earlier demo made it."""
    root = Path(settings.lake_url.removeprefix("file://")).expanduser().resolve()
    if "://" in settings.lake_url and not settings.lake_url.startswith("file://"):
        raise ConfigError(
            "the demo runs on a local lake only", hint="pass --lake ./demo-lake or unset it"
        )
    if root.exists() and any(root.iterdir()):
        if not (root / DEMO_MARKER).exists():
            raise ConfigError(
                f"{root} is not empty and was not made by the demo; it is left untouched",
                hint="pass --lake with a new folder for the demo",
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARKER).write_text("made by lakehouse demo; emptied by the next demo\n")
    return root


def run_demo(
    settings: Settings,
    options: GenerateOptions,
    *,
    on_step: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    root = prepare_lake(settings)
    platform = Platform(settings)
    lake, contracts = platform.lake, platform.contracts
    landing = root / LANDING
    generated = generate(landing, options)
    on_step(f"generated {sum(generated.rows.values()):,} rows in {len(generated.files)} files")
    pii_key = platform.pii_key()
    con = connect(settings)
    ingested: list[IngestResult] = []
    builds: list[SilverResult] = []
    by_day = groupby(sorted(generated.files, key=_delivery_day), key=_delivery_day)
    for day, files in by_day:
        batch = [
            LandingFile(
                f"{LANDING}/{p.relative_to(landing).as_posix()}",
                str(p),
                f"{LANDING}/{p.relative_to(landing).as_posix()}",
            )
            for p in files
        ]
        ingested += ingest_files(lake, contracts, con, batch)
        # The build runs on the simulated timer's clock (06:00 after the delivery day), so
        # a date "in the future" means future for the data, whatever today's date is.
        clock = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(6))
        build = build_silver(lake, contracts, con, pii_key, now=clock)
        builds.append(build)
        rows = sum(t.rows_read for t in build.tables)
        held = sum(t.quarantined for t in build.tables)
        released = sum(t.released for t in build.tables)
        on_step(f"{day}: {len(batch)} files, {rows:,} rows built, {held} held, {released} released")
    gold = build_gold(lake, con, now=clock)
    on_step(f"gold: {gold.status}, {sum(gold.tables.values()):,} rows in {len(gold.tables)} tables")
    report = write_report(lake, contracts, clock)
    held_tables = []
    for table in contracts.build_order():
        held = lake.read(f"quarantine.{table}")
        if held is not None:
            held_tables.append(held.append_column("_table", pa.array([table] * held.num_rows)))
    detection = score(
        load_ground_truth(generated.ground_truth), held_tables, lake.read(DROPPED_ROWS), contracts
    )
    return DemoResult(generated, ingested, builds, gold, report, detection)


def _delivery_day(path: Path) -> str:
    return path.name.split("_", 1)[0]
