"""The HTML report: rendered from known figures, and opened in Debian's headless Chromium
(installed by `make test`) with no console message and every chart present."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from shared.generate import GenerateOptions, generate
from shared.jobs import Platform, build_gold_job, build_silver_job, ingest_paths
from shared.report import ReportData, render, write_report
from shared.settings import Settings

SECTIONS = [
    "revenue-by-month",
    "revenue-at-risk",
    "cohort-heatmap",
    "rfm-segments",
    "dq-pass-rates",
]


def sample() -> ReportData:
    return ReportData(
        generated_at=datetime(2026, 2, 1, 6),
        months=[
            {"month": date(2026, 1, 1), "revenue": 1200.5},
            {"month": date(2026, 2, 1), "revenue": 600.25},
        ],
        at_risk=[("orders.status_known", 99.5, 3), ("lines <b>&", 10.0, 1)],
        cohorts=[
            {
                "cohort_month": date(2026, 1, 1),
                "months_since": 0,
                "cohort_size": 10,
                "active_customers": 10,
                "retention_rate": 1.0,
            },
            {
                "cohort_month": date(2026, 1, 1),
                "months_since": 1,
                "cohort_size": 10,
                "active_customers": 4,
                "retention_rate": 0.4,
            },
        ],
        segments={"Loyal": 7, "Champions": 3},
        quality=[("orders", 100, 5), ("stores", 0, 0)],
    )


def test_report_shows_each_figure() -> None:
    page = render(sample())
    for anchor in SECTIONS:
        assert f'id="{anchor}"' in page
    assert "1,200.50" in page and "600.25" in page
    assert ">2026-01<" in page and ">+1<" in page and "40%" in page
    assert "95.0%" in page  # 5 of 100 orders held
    assert "100.0%" in page  # a table with no rows yet counts as passing
    assert "lines &lt;b&gt;&amp;" in page  # labels are escaped
    assert page.count("<rect") == 2 + 2 + 2 + 2


def test_report_is_self_contained() -> None:
    page = render(sample())
    assert not re.search(r"(src|href)\s*=", page), "the report must load nothing"
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page and "<script" not in page


def test_empty_lake_report_says_so() -> None:
    page = render(ReportData(generated_at=datetime(2026, 2, 1)))
    assert page.count("No data yet.") == 5


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    settings = Settings.from_env({}, lake_url=str(root / "lake"), secrets_dir=root / "secrets")
    generate(
        root / "lake" / "landing",
        GenerateOptions(days=40, orders_per_day=25, end_date=date(2026, 1, 31)),
    )
    clock = datetime(2026, 2, 1, 6)
    ingest_paths(settings, [])
    build_silver_job(settings, now=clock)
    assert build_gold_job(settings, now=clock).status == "succeeded"
    platform = Platform(settings)
    return Path(
        platform.lake.storage.local_path(write_report(platform.lake, platform.contracts, clock))
    )


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium is needed (make test installs it: apt-get install chromium)"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    return subprocess.run(
        [binary, *flags, *args], capture_output=True, text=True, timeout=120, check=True
    )


def test_report_renders_in_headless_chromium(demo_report: Path, tmp_path: Path) -> None:
    url = demo_report.as_uri()
    dom = chromium("--dump-dom", url, profile=tmp_path / "profile-dom")
    messages = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert messages == [], messages
    assert "net::ERR" not in dom.stderr
    for anchor in SECTIONS:
        section = re.search(
            rf'<section class="chart" id="{anchor}">(.*?)</section>', dom.stdout, re.S
        )
        assert section, f"{anchor} missing from the rendered page"
        assert "<svg" in section.group(1) or "<table" in section.group(1), anchor
        assert "No data yet." not in section.group(1), anchor
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1100,2400", url, profile=tmp_path / "p2")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a blank page is a few kB
