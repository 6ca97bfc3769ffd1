"""`lakehouse ask` and `lakehouse advisor-metrics`, in-process, on the broken lake."""

from __future__ import annotations

import json
import os

import pytest

from shared import cli
from tests.shared.advisor.conftest import BrokenLake


@pytest.fixture
def lake(broken: BrokenLake, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith(("LAKEHOUSE_", "OPENAI_", "AZURE_OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAKEHOUSE_SECRETS_DIR", str(broken.bench.settings.secrets_dir))
    monkeypatch.chdir(broken.bench.root)
    return broken.bench.settings.lake_url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ask_prints_a_readable_answer(lake: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "--lake", lake, "Why was gold blocked?")
    assert code == 0
    assert out.startswith("Advisor (failure triage; offline rules-v1)")
    assert "Root cause: format_change" in out
    assert "Recommended actions (nothing is run; a person decides)" in out
    assert " 1. " in out and "[E" in out and "contracts/order_lines.yaml" in out
    assert "is pending: approve or reject it with POST /api/advisor/proposals/" in out


def test_ask_json_about_a_run(
    lake: str, broken: BrokenLake, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "ask", "--lake", lake, "--run", broken.runs["gold"], "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["run_id"] == broken.runs["gold"]
    assert answer["root_cause"]["category"] == "format_change"
    assert answer["requires_human_approval"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a question or --run"),
        (("why?", "--run", "silver-1"), "give a question or --run"),
        (("--run", "silver-20200101T000000-000000"), "is not in _ops.runs"),
    ],
)
def test_ask_errors(
    lake: str, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, "ask", "--lake", lake, *args)
    assert code == 2 and message in err


def test_advisor_metrics(lake: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "ask", "--lake", lake, "Why was gold blocked?")
    code, out, _ = run(capsys, "advisor-metrics", "--lake", lake)
    assert code == 0
    assert "2 calls, 0 fell back to offline" in out and "triage" in out and "answer" in out
    code, out, _ = run(capsys, "advisor-metrics", "--lake", lake, "--days", "1", "--json")
    assert code == 0 and json.loads(out)["totals"]["calls"] == 2
    code, _, err = run(capsys, "advisor-metrics", "--lake", lake, "--days", "0")
    assert code == 2 and "days must be" in err
