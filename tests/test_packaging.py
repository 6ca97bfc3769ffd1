"""Packaging guards: the deploy requirements match the project's dependencies, the core stays
cloud-SDK free, and local secrets and lakes are never committed."""

from __future__ import annotations

import fnmatch
import re
import tomllib

import pytest

from shared.settings import PACKAGE_ROOT

CLOUD_SDKS = ("azure", "boto3", "botocore", "google.cloud", "openai")


def requirement(line: str) -> tuple[str, str]:
    """'PyYAML >= 6 ; extra' -> ('pyyaml', '>=6'): normalised name and specifier."""
    line = line.split(";", 1)[0].strip()
    match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)", line)
    assert match, f"cannot parse requirement {line!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    spec = ",".join(sorted(part.replace(" ", "") for part in match.group(3).split(",") if part))
    return name, spec


def requirements_txt() -> dict[str, str]:
    lines = (PACKAGE_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    wanted = [line.split("#", 1)[0].strip() for line in lines]
    return dict(requirement(line) for line in wanted if line and not line.startswith("-"))


def project_dependencies() -> dict[str, str]:
    with (PACKAGE_ROOT / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    return dict(requirement(line) for line in project["dependencies"])


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("deltalake>=1.1,<2", ("deltalake", "<2,>=1.1")),
        ("PyYAML >= 6", ("pyyaml", ">=6")),
        ("azure_functions>=1.21 ; python_version >= '3.11'", ("azure-functions", ">=1.21")),
        ("rich", ("rich", "")),
    ],
)
def test_requirement_parser(line: str, parsed: tuple[str, str]) -> None:
    assert requirement(line) == parsed


def test_requirements_txt_matches_project_dependencies() -> None:
    deployed = requirements_txt()
    declared = project_dependencies()
    assert deployed, "requirements.txt lists nothing"
    missing_from_requirements = {n: s for n, s in declared.items() if deployed.get(n) != s}
    missing_from_pyproject = {n: s for n, s in deployed.items() if declared.get(n) != s}
    assert missing_from_requirements == {}, "in pyproject.toml, not (so) in requirements.txt"
    assert missing_from_pyproject == {}, "in requirements.txt, not (so) in pyproject.toml"


def test_the_runtime_needs_are_declared() -> None:
    declared = project_dependencies()
    for name in ("deltalake", "duckdb", "pyarrow", "pydantic", "pyyaml", "azure-functions"):
        assert name in declared


def imported_modules(source: str) -> list[str]:
    """Top-level module paths named by import statements (including indented ones)."""
    modules = []
    for line in source.splitlines():
        stripped = line.strip()
        match = re.match(r"from\s+([\w.]+)\s+import\b", stripped)
        if match:
            modules.append(match.group(1))
            continue
        match = re.match(r"import\s+(.+)", stripped)
        if match:
            for part in match.group(1).split("#", 1)[0].split(","):
                modules.append(part.strip().split(" as ")[0].strip())
    return [m for m in modules if m]


def is_cloud_sdk(module: str) -> bool:
    return any(module == sdk or module.startswith(sdk + ".") for sdk in CLOUD_SDKS)


def test_import_scanner() -> None:
    source = (
        "import os, boto3\nfrom azure.storage.blob import X\n"
        "    import google.cloud.storage as gcs\n"
        "from google.protobuf import y\nimport openai_helpers\nfrom . import local\n"
    )
    assert [m for m in imported_modules(source) if is_cloud_sdk(m)] == [
        "boto3",
        "azure.storage.blob",
        "google.cloud.storage",
    ]


def test_shared_never_imports_a_cloud_sdk() -> None:
    files = sorted((PACKAGE_ROOT / "shared").rglob("*.py"))
    assert len(files) > 10
    offenders = [
        f"{path.relative_to(PACKAGE_ROOT)}: {module}"
        for path in files
        for module in imported_modules(path.read_text(encoding="utf-8"))
        if is_cloud_sdk(module)
    ]
    assert offenders == []


def gitignore_patterns() -> list[str]:
    lines = (PACKAGE_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether a repository-relative path (a file, or a folder ending in '/') is ignored,
    by the simple rules used here: a pattern matches the name of the path or of a folder
    above it, anchored patterns match from the root, and '!' re-includes."""
    parts = path.rstrip("/").split("/")
    result = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        dir_only = pattern.endswith("/")
        pattern = pattern.strip("/") if dir_only else pattern.lstrip("/")
        anchored = raw.lstrip("!").startswith("/") or "/" in pattern
        for depth in range(len(parts)):
            is_dir = depth < len(parts) - 1 or path.endswith("/")
            if dir_only and not is_dir:
                continue
            candidate = "/".join(parts[: depth + 1]) if anchored else parts[depth]
            if fnmatch.fnmatchcase(candidate, pattern):
                result = not negate
                break
    return result


@pytest.mark.parametrize(
    "path",
    [
        ".secrets/",
        ".secrets/pii-hash-key",
        ".env",
        "local.settings.json",
        ".lake/",
        ".lake/bronze/orders/part-0.parquet",
    ],
)
def test_gitignore_keeps_secrets_and_lakes_out(path: str) -> None:
    assert ignored(path, gitignore_patterns())


@pytest.mark.parametrize("path", ["shared/ingest.py", "contracts/orders.yaml", ".gitignore"])
def test_gitignore_keeps_the_code_in(path: str) -> None:
    assert not ignored(path, gitignore_patterns())
