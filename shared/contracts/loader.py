"""Load every `contracts/*.yaml` once into validated `Contract` objects."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml
from pydantic import ValidationError

from shared.contracts.model import Contract
from shared.errors import ContractError


@dataclass(frozen=True)
class ContractSet(Mapping[str, Contract]):
    """All contracts by table name, with the order tables must be built in."""

    contracts: dict[str, Contract]
    files: dict[str, Path]

    def __getitem__(self, table: str) -> Contract:
        try:
            return self.contracts[table]
        except KeyError:
            known = ", ".join(sorted(self.contracts)) or "none"
            raise ContractError(
                f"no contract for table {table!r} (known: {known})",
                hint=f"add contracts/{table}.yaml or check the table name",
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.contracts)

    def __len__(self) -> int:
        return len(self.contracts)

    def build_order(self) -> list[str]:
        """Tables ordered so that every referenced parent comes before its children."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(table: str) -> None:
            if table in order:
                return
            if table in visiting:
                raise ContractError(
                    f"reference cycle through table {table!r}",
                    hint="a references rule must point from child to parent only",
                )
            visiting.add(table)
            for rule in self.contracts[table].references:
                if rule.table != table:
                    visit(rule.table)
            visiting.discard(table)
            order.append(table)

        for table in sorted(self.contracts):
            visit(table)
        return order

    def table_for_path(self, path: str) -> str | None:
        """The table whose source.path_pattern matches the end of `path`, if exactly one."""
        parts = PurePosixPath(path.replace("\\", "/")).parts
        matches = []
        for name, contract in self.contracts.items():
            pattern_parts = PurePosixPath(contract.source.path_pattern).parts
            tail = "/".join(parts[-len(pattern_parts) :])
            if len(parts) >= len(pattern_parts) and fnmatch.fnmatchcase(
                tail, contract.source.path_pattern
            ):
                matches.append(name)
        return matches[0] if len(matches) == 1 else None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (a copied line would otherwise
    silently replace the first definition)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_contract(path: Path) -> Contract:
    """Parse and validate one contract file; errors name the file and the key."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except OSError as exc:
        raise ContractError(f"{path}: cannot read the contract: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ContractError(
            f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}",
            hint="fix the YAML syntax (indentation, quotes, colons)",
        ) from None
    if not isinstance(data, dict):
        raise ContractError(f"{path}: a contract must be a YAML mapping with a 'table' key")
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise ContractError(
            f"{path}: {problems}", hint="see 'Data contracts' in the README for the format"
        ) from None
    if contract.table != path.stem:
        raise ContractError(
            f"{path}: key 'table' is {contract.table!r} but the file is named {path.name}",
            hint=f"rename the file to {contract.table}.yaml or fix 'table'",
        )
    return contract


def load_contracts(directory: Path) -> ContractSet:
    """Every `*.yaml` in `directory`, validated, with references checked across tables."""
    files = (
        sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]) if directory.is_dir() else []
    )
    if not files:
        raise ContractError(
            f"no contracts found in {directory}",
            hint="set LAKEHOUSE_CONTRACTS to the folder holding <table>.yaml files",
        )
    contracts = {}
    paths = {}
    for path in files:
        contract = load_contract(path)
        contracts[contract.table] = contract
        paths[contract.table] = path
    for name, contract in contracts.items():
        for rule in contract.references:
            parent = contracts.get(rule.table)
            if parent is None:
                raise ContractError(
                    f"{paths[name]}: rule {rule.id!r} references table {rule.table!r}, "
                    "which has no contract",
                    hint=f"add contracts/{rule.table}.yaml or fix 'table' in the rule",
                )
            if rule.to not in parent.columns:
                raise ContractError(
                    f"{paths[name]}: rule {rule.id!r} references {rule.table}.{rule.to}, "
                    f"which is not a column of {rule.table}",
                )
    result = ContractSet(contracts, paths)
    result.build_order()
    return result


def _describe(error: Mapping[str, object]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"key '{location}': {message}" if location else message
