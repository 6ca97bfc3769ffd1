"""Suggested contract edits as unified diffs, for a person to review and commit.

The edit is made on the YAML text, line by line, so comments and layout stay as they are
and the diff shows only the change. An edit that cannot be placed safely gives no diff
(the proposal's steps still say what to change). Nothing here writes a file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.contracts import ContractSet, parse_duration

_COLUMN_LINE = re.compile(r"^(\s+)([a-z_][a-z0-9_]*):\s*\{(.*)\}\s*$")
_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SAFE_VALUE = re.compile(r"^[\w\- ]{1,40}$")


def suggested_diff(contracts: ContractSet, change: Mapping[str, Any] | None) -> str | None:
    """The unified diff of `contracts/<table>.yaml` that makes `change`, or None."""
    if not change or change.get("table") not in contracts.contracts:
        return None
    table = str(change["table"])
    path = Path(contracts.files[table])
    before = path.read_text(encoding="utf-8").splitlines(keepends=True)
    edit = {
        "add_column": _add_columns,
        "make_optional": _make_optional,
        "extend_grace": _extend_grace,
        "accept_values": _accept_values,
    }.get(str(change.get("kind")))
    if edit is None:
        return None
    after = edit(list(before), change, contracts, table)
    if after is None or after == before:
        return None
    after = _bump_version(after)
    name = f"contracts/{table}.yaml"
    return "".join(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}"))


def _add_columns(
    lines: list[str], change: Mapping[str, Any], contracts: ContractSet, table: str
) -> list[str] | None:
    known = contracts[table].columns
    names = [c for c in change.get("columns") or [] if _SAFE_NAME.match(str(c)) and c not in known]
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "columns:"), None)
    if not names or start is None:
        return None
    end = start + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")) and lines[end].strip():
        end += 1
    indent = re.match(r"^(\s*)", lines[start + 1]).group(1) if end > start + 1 else "  "
    added = [
        f"{indent}{name}: {{type: string, required: false}}  # seen as schema drift\n"
        for name in names
    ]
    return lines[:end] + added + lines[end:]


def _make_optional(
    lines: list[str], change: Mapping[str, Any], contracts: ContractSet, table: str
) -> list[str] | None:
    contract = contracts[table]
    wanted = {
        c for c in change.get("columns") or [] if c in contract.columns and c not in contract.keys
    }
    out, changed = [], False
    for line in lines:
        match = _COLUMN_LINE.match(line)
        if match and match.group(2) in wanted and "required" not in match.group(3):
            line = f"{match.group(1)}{match.group(2)}: {{{match.group(3)}, required: false}}\n"
            changed = True
        out.append(line)
    return out if changed else None


def _extend_grace(
    lines: list[str], change: Mapping[str, Any], contracts: ContractSet, table: str
) -> list[str] | None:
    rule = next((r for r in contracts[table].references if r.id == change.get("rule_id")), None)
    if rule is None:
        return None
    longer = f"{int(parse_duration(rule.grace).total_seconds() // 3600) * 2}h"
    block = _rule_block(lines, rule.id)
    if block is None:
        return None
    out = list(lines)
    for i in range(*block):
        if re.search(rf"\bgrace:\s*{re.escape(rule.grace)}\b", out[i]):
            out[i] = re.sub(rf"\bgrace:\s*{re.escape(rule.grace)}\b", f"grace: {longer}", out[i])
            return out
    # No explicit grace (the default): add it to the rule's line.
    first = out[block[0]]
    if first.rstrip().endswith("}"):
        out[block[0]] = first.rstrip()[:-1] + f", grace: {longer}}}\n"
        return out
    return None


def _accept_values(
    lines: list[str], change: Mapping[str, Any], contracts: ContractSet, table: str
) -> list[str] | None:
    new = [str(v) for v in change.get("values") or [] if _SAFE_VALUE.match(str(v))]
    block = _rule_block(lines, str(change.get("rule_id")))
    if not new or block is None:
        return None
    out = list(lines)
    for i in range(*block):
        match = re.search(r"values:\s*\[([^\]]*)\]", out[i])
        if match:
            current = [v.strip() for v in match.group(1).split(",") if v.strip()]
            merged = current + [v for v in new if v not in current]
            out[i] = out[i][: match.start(1)] + ", ".join(merged) + out[i][match.end(1) :]
            return out
    return None


def _rule_block(lines: list[str], rule_id: str) -> tuple[int, int] | None:
    """Line range of the rule with this id (from its `- ` line to the next rule's)."""
    pattern = re.compile(rf"\bid:\s*{re.escape(rule_id)}\s*[,}}\n]")
    start = next((i for i, line in enumerate(lines) if pattern.search(line)), None)
    if start is None:
        return None
    while start > 0 and not lines[start].lstrip().startswith("- "):
        start -= 1
    end = start + 1
    indent = len(lines[start]) - len(lines[start].lstrip())
    while end < len(lines):
        stripped = lines[end].lstrip()
        depth = len(lines[end]) - len(stripped)
        if not stripped.strip() or depth < indent or (depth == indent and stripped[:2] == "- "):
            break
        end += 1
    return start, end


def _bump_version(lines: list[str]) -> list[str]:
    out = list(lines)
    for i, line in enumerate(out):
        match = re.match(r"^version:\s*(\d+)\s*$", line)
        if match:
            out[i] = f"version: {int(match.group(1)) + 1}\n"
            break
    return out
