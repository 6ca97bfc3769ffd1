"""`lakehouse report`: one self-contained HTML page (inline SVG, no script or font from a
CDN, so it opens offline) for business readers: revenue by month, revenue at risk by rule,
the cohort heatmap, RFM segments and data-quality pass rates per table."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.contracts import ContractSet
from shared.lake import Lake
from shared.summary import quarantine_by_rule, rows_of, segment_counts

REPORT_PATH = "_reports/latest.html"
_PALETTE = ["#2f6fb3", "#e07b39", "#3a9e6f", "#c44e52", "#8172b2", "#937860", "#da8bc3"]


@dataclass
class ReportData:
    generated_at: datetime
    months: list[dict[str, Any]] = field(default_factory=list)
    at_risk: list[tuple[str, float, int]] = field(default_factory=list)
    """(rule, value, rows), largest value first."""
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    segments: dict[str, int] = field(default_factory=dict)
    quality: list[tuple[str, int, int]] = field(default_factory=list)
    """(table, rows delivered to Bronze, rows held in quarantine)."""


def collect(lake: Lake, contracts: ContractSet, now: datetime) -> ReportData:
    """Read what the report shows from Gold, Silver and quarantine."""
    data = ReportData(now, rows_of(lake, "gold.kpi_monthly"))
    totals: dict[str, list[float]] = {}
    for row in rows_of(lake, "gold.revenue_at_risk"):
        entry = totals.setdefault(row["rule_id"], [0.0, 0])
        entry[0] += float(row["revenue_at_risk"])
        entry[1] += row["rows"]
    data.at_risk = sorted(((r, v, int(n)) for r, (v, n) in totals.items()), key=lambda t: -t[1])
    data.cohorts = rows_of(lake, "gold.cohort_retention")
    data.segments = segment_counts(lake)
    held: dict[str, int] = {}
    for row in quarantine_by_rule(lake, contracts):
        held[row["table"]] = held.get(row["table"], 0) + row["rows"]
    for table in contracts.build_order():
        delta = lake.delta(f"bronze.{table}")
        delivered = delta.count() if delta is not None else 0
        data.quality.append((table, delivered, held.get(table, 0)))
    return data


def write_report(lake: Lake, contracts: ContractSet, now: datetime) -> str:
    """Render the report into the lake; returns its path in the lake."""
    page = render(collect(lake, contracts, now))
    lake.storage.write_bytes(REPORT_PATH, page.encode("utf-8"))
    return REPORT_PATH


def render(data: ReportData) -> str:
    sections = [
        _section(
            "Revenue by month",
            "Placed, shipped and delivered orders.",
            _bars([(str(m["month"])[:7], float(m["revenue"])) for m in data.months], money=True),
            "revenue-by-month",
        ),
        _section(
            "Revenue at risk by rule",
            "Sales rows held in quarantine (or whose order is held), valued as if corrected.",
            _hbars([(rule, value) for rule, value, _ in data.at_risk], money=True),
            "revenue-at-risk",
        ),
        _section(
            "Cohort retention",
            "Share of each month's new customers who ordered again N months later.",
            _heatmap(data.cohorts),
            "cohort-heatmap",
        ),
        _section(
            "Customer segments (RFM)",
            "Recency, frequency and monetary value, as of the latest order.",
            _hbars(sorted(data.segments.items(), key=lambda kv: -kv[1]), money=False),
            "rfm-segments",
        ),
        _section(
            "Data quality pass rate per table",
            "Share of delivered rows not held in quarantine.",
            _hbars(
                [
                    (t, 1 - held / delivered if delivered else 1.0)
                    for t, delivered, held in data.quality
                ],
                percent=True,
            ),
            "dq-pass-rates",
        ),
    ]
    stamp = data.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return _PAGE.format(stamp=html.escape(stamp), body="\n".join(sections))


def _section(title: str, note: str, chart: str, anchor: str) -> str:
    return (
        f'<section class="chart" id="{anchor}"><h2>{html.escape(title)}</h2>'
        f'<p class="note">{html.escape(note)}</p>{chart}</section>'
    )


def _fmt(value: float, *, money: bool = False, percent: bool = False) -> str:
    if percent:
        return f"{value:.1%}"
    return f"{value:,.2f}" if money else f"{value:,.0f}"


def _bars(items: list[tuple[str, float]], *, money: bool = False) -> str:
    """Vertical bars, one per label."""
    if not items:
        return '<p class="empty">No data yet.</p>'
    width, height, pad = max(320, 90 * len(items)), 260, 40
    top = max(v for _, v in items) or 1.0
    step = (width - pad) / len(items)
    parts = []
    for i, (label, value) in enumerate(items):
        h = (height - 2 * pad) * value / top
        x, y = pad + i * step + step * 0.15, height - pad - h
        shown = _fmt(value, money=money)
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{_PALETTE[0]}"><title>{html.escape(label)}: {shown}</title></rect>'
            f'<text x="{x + step * 0.35:.1f}" y="{height - pad + 16}" text-anchor="middle">'
            f"{html.escape(label)}</text>"
            f'<text x="{x + step * 0.35:.1f}" y="{y - 6:.1f}" text-anchor="middle" class="value">'
            f"{shown}</text>"
        )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f"{''.join(parts)}</svg>"
    )


def _hbars(items: list[tuple[str, float]], *, money: bool = False, percent: bool = False) -> str:
    """Horizontal bars with the label left and the value right."""
    if not items:
        return '<p class="empty">No data yet.</p>'
    label_w, bar_w, row_h = 260, 360, 26
    top = 1.0 if percent else (max(v for _, v in items) or 1.0)
    height = row_h * len(items) + 10
    parts = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * row_h
        w = bar_w * max(value, 0) / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{_PALETTE[(i % (len(_PALETTE) - 1)) + 1]}"><title>{html.escape(label)}: '
            f"{_fmt(value, money=money, percent=percent)}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="value">'
            f"{_fmt(value, money=money, percent=percent)}</text>"
        )
    width = label_w + bar_w + 110
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f"{''.join(parts)}</svg>"
    )


def _heatmap(rows: list[dict[str, Any]]) -> str:
    """Cohorts down, months since first order across, cells shaded by retention."""
    if not rows:
        return '<p class="empty">No data yet.</p>'
    months = sorted({r["months_since"] for r in rows})
    cohorts = sorted({r["cohort_month"] for r in rows})
    cell = {(r["cohort_month"], r["months_since"]): r for r in rows}
    head = "".join(f"<th>+{m}</th>" for m in months)
    body = []
    for cohort in cohorts:
        size = next(r["cohort_size"] for r in rows if r["cohort_month"] == cohort)
        cells = []
        for m in months:
            r = cell.get((cohort, m))
            if r is None:
                cells.append("<td></td>")
                continue
            rate = r["retention_rate"]
            cells.append(
                f'<td style="background: rgba(47,111,179,{0.12 + 0.88 * rate:.2f});'
                f' color: {"#fff" if rate > 0.5 else "#111"}">{rate:.0%}</td>'
            )
        body.append(f"<tr><th>{str(cohort)[:7]}</th><td>{size:,}</td>{''.join(cells)}</tr>")
    return (
        '<table class="heatmap"><thead><tr><th>cohort</th><th>size</th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Retail lakehouse report</title>
<style>
  body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem;
         color: #1b1b1b; background: #fafafa; }}
  h1 {{ margin-bottom: 0; }}
  .stamp, .note {{ color: #666; margin-top: .25rem; }}
  .chart {{ background: #fff; border: 1px solid #e3e3e3; border-radius: 8px;
           padding: 1rem 1.25rem; margin: 1.25rem 0; max-width: 960px; }}
  svg text {{ font-size: 12px; fill: #333; }}
  svg text.value {{ fill: #555; }}
  table.heatmap {{ border-collapse: collapse; }}
  table.heatmap th, table.heatmap td {{ padding: .35rem .6rem; text-align: right;
                                        border: 1px solid #eee; }}
  .empty {{ color: #999; }}
</style>
</head>
<body>
<h1>Retail lakehouse</h1>
<p class="stamp">Built {stamp} from the Gold tables.</p>
{body}
</body>
</html>
"""
