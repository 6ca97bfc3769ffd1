"""`shared.demo.run_demo`: generate, deliver day by day into a fresh lake, build, score."""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path

import pytest

from providers.storage import LocalStorage
from shared import demo
from shared.demo import DEMO_MARKER, DemoResult, run_demo
from shared.errors import ConfigError
from shared.generate import DEFECT_KINDS, GenerateOptions
from shared.lake import Lake
from shared.settings import Settings
from tests.shared.pinned import END, INJECTED, OPTIONS

# The build clock of a demo over data ending on END: the morning after the last delivery.
CLOCK = datetime(2026, 2, 1, 6)


def demo_settings(root: Path) -> Settings:
    return Settings.from_env({}, lake_url=str(root / "lake"), secrets_dir=root / "secrets")


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run_demo` builds Silver on the wall clock (it takes no clock); the generated data
    ends on END, so builds run as of CLOCK to keep `order_ts_not_future` reproducible.
    See `test_demo_with_a_past_end_date_flags_future_orders` for why this is needed."""
    monkeypatch.setattr(demo, "build_silver", functools.partial(demo.build_silver, now=CLOCK))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, DemoResult, list]:
    root = tmp_path_factory.mktemp("demo")
    settings = demo_settings(root)
    steps: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "build_silver", functools.partial(demo.build_silver, now=CLOCK))
        result = run_demo(settings, OPTIONS, on_step=steps.append)
    return settings, result, steps


def test_demo_detects_every_injected_defect(first_run) -> None:
    _, result, _ = first_run
    assert result.generated.defects == INJECTED
    by_kind = {k.kind: k for k in result.score.kinds}
    assert sorted(by_kind) == sorted(DEFECT_KINDS)
    for kind, injected in INJECTED.items():
        assert by_kind[kind].injected == injected, kind
        assert by_kind[kind].recall == 1.0, (kind, by_kind[kind])
        assert by_kind[kind].precision == 1.0, (kind, by_kind[kind])
    assert result.score.recall == 1.0
    assert result.score.precision >= 0.999
    assert result.score.false_positives == []
    assert (result.score.flagged, result.score.true_positives) == (75, 75)


def test_demo_delivers_day_by_day(first_run) -> None:
    settings, result, steps = first_run
    assert len(result.builds) == 6
    assert all(b.status == "succeeded" for b in result.builds)
    assert [r.status for r in result.ingested] == ["loaded"] * 36
    assert sum(r.rows for r in result.ingested) == sum(result.generated.rows.values()) == 1524
    assert steps[0] == "generated 1,524 rows in 36 files"
    assert [s.split(":")[0] for s in steps[1:-1]] == [f"2026-01-{d}" for d in range(26, 32)]
    assert steps[-1].startswith("gold: succeeded")
    assert result.gold.status == "succeeded"
    assert sum(t.released for b in result.builds for t in b.tables) == 3
    root = Path(settings.lake_url)
    assert (root / DEMO_MARKER).is_file()
    # The PII key is generated beside the lake's settings, never inside the lake.
    assert (settings.secrets_dir / "pii-hash-key").is_file()
    assert not any(p.name == "pii-hash-key" for p in root.rglob("*"))


def test_demo_runs_again_on_a_lake_it_made(tmp_path: Path, pinned_clock: None) -> None:
    settings = demo_settings(tmp_path)
    small = GenerateOptions(days=2, orders_per_day=20, end_date=END)
    first = run_demo(settings, small)
    again = run_demo(settings, small)
    assert again.score == first.score
    assert again.score.recall == 1.0
    assert [r.status for r in again.ingested] == [r.status for r in first.ingested]
    assert {r.status for r in again.ingested} == {"loaded"}
    # The lake was emptied first: Bronze holds one copy of the generated rows.
    lake = Lake(LocalStorage(settings.lake_url))
    for table, n in again.generated.rows.items():
        assert lake.read(f"bronze.{table}").num_rows == n, table


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)
    root = Path(settings.lake_url)
    root.mkdir()
    keep = root / "precious.txt"
    keep.write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty and was not made by the demo") as info:
        run_demo(settings, GenerateOptions(days=1, orders_per_day=5, end_date=END))
    assert info.value.hint
    assert keep.read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in root.iterdir()) == ["precious.txt"]


def test_demo_accepts_an_empty_folder(tmp_path: Path, pinned_clock: None) -> None:
    settings = demo_settings(tmp_path)
    Path(settings.lake_url).mkdir()
    result = run_demo(settings, GenerateOptions(days=1, orders_per_day=5, end_date=END))
    assert (Path(settings.lake_url) / DEMO_MARKER).is_file()
    assert result.score.recall == 1.0


def test_demo_refuses_a_remote_lake(tmp_path: Path) -> None:
    settings = Settings.from_env({}, lake_url="s3://bucket/lake", secrets_dir=tmp_path)
    with pytest.raises(ConfigError, match="local lake only"):
        run_demo(settings, GenerateOptions(days=1, end_date=END))


def test_demo_with_a_past_end_date_flags_future_orders(tmp_path: Path) -> None:
    # Orders dated 60-400 days after 2020-01-31 are in the future of that data, but in
    # the past of any wall clock after March 2021.
    options = GenerateOptions(days=2, orders_per_day=40, end_date=date(2020, 1, 31))
    result = run_demo(demo_settings(tmp_path), options)
    by_kind = {k.kind: k for k in result.score.kinds}
    assert by_kind["future_order_date"].injected == 1
    assert by_kind["future_order_date"].recall == 1.0
