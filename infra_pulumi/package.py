"""Build what each cloud deploys, reproducibly, from requirements.txt (`make package`).

    python -m infra_pulumi.package [--out dist] [--fresh]

Dependencies are installed once for the functions' platform (Linux x86_64, CPython 3.11,
manylinux wheels only, no bytecode), then packed three ways:

- `azure/functionapp.zip`: the app at the root, dependencies in `.python_packages/lib/
  site-packages` (Flex Consumption runs the package as uploaded; no remote build);
- `gcp/source.zip`: the app, a root `main.py` re-exporting `functions/gcp/main.py`, and a
  requirements.txt pinned to the exact versions resolved here (Cloud Build installs them);
- `aws/image/`: a Lambda container build context (Dockerfile + `app/`) that `pulumi up` builds
  and pushes. Code and dependencies unzipped are measured against Lambda's 250 MB zip limit
  and the figure recorded: at 519 MB today they are twice over it, so Lambda runs a
  container image (up to 10 GB) rather than a zip.

Zip entries are sorted, dated 1980-01-01 and carry normalised modes, and the install leaves out
everything that depends on the build machine (scripts with its interpreter path, bytecode), so
two builds from the same requirements and index give the same sha256. `manifest.json` records
the digests, sizes and pinned versions; the Pulumi programs read their artefact from it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from infra_pulumi.contract import GCP_SOURCE

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_FILES = ("function_app.py", "host.json", "requirements.txt")
APP_DIRS = ("shared", "providers", "functions", "contracts")
PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.11"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
"""Lambda's limit on a zip package and its layers once extracted (262,144,000 bytes)."""
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_EPOCH = 315532800  # 1980-01-01T00:00:00Z, for files copied into the image context
LAMBDA_BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"
DOCKERFILE = f"""\
# Written by `make package` (infra_pulumi/package.py); `pulumi up` in infra_pulumi/aws builds
# and pushes it. Each function sets its own handler as the command.
ARG BASE_IMAGE={LAMBDA_BASE_IMAGE}
FROM ${{BASE_IMAGE}}
COPY app/ ${{LAMBDA_TASK_ROOT}}/
CMD ["functions.aws.handlers.http"]
"""
GCP_MAIN = """\
# Cloud Functions loads main.py from the source root; the entry points live in the app.
from functions.gcp.main import http, ingest, scheduled

__all__ = ["http", "ingest", "scheduled"]
"""


@dataclass(frozen=True)
class Entry:
    """One file of an artefact: where it goes inside, and its bytes on disk or in memory."""

    arcname: str
    source: Path | None = None
    data: bytes | None = None

    def read(self) -> bytes:
        return self.data if self.data is not None else self.source.read_bytes()  # type: ignore[union-attr]

    @property
    def executable(self) -> bool:
        return self.source is not None and os.access(self.source, os.X_OK)


def app_entries(root: Path = REPO_ROOT) -> list[Entry]:
    """The function app's own files (no tests, no bytecode)."""
    entries = [Entry(name, root / name) for name in APP_FILES]
    for folder in APP_DIRS:
        entries += [
            Entry(path.relative_to(root).as_posix(), path)
            for path in (root / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        ]
    return entries


def tree_entries(root: Path, prefix: str = "") -> list[Entry]:
    return [
        Entry(prefix + path.relative_to(root).as_posix(), path)
        for path in root.rglob("*")
        if path.is_file()
    ]


def install_dependencies(requirements: Path, target: Path, *, fresh: bool) -> None:
    """pip-install the requirements for the functions' platform into `target` (cached by the
    requirements' digest), then drop what would differ between build machines."""
    stamp = target.parent / "requirements.sha256"
    digest = sha256_bytes(requirements.read_bytes())
    if not fresh and target.is_dir() and stamp.is_file() and stamp.read_text() == digest:
        return
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--no-warn-conflicts",
        "--platform",
        PLATFORM,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]
    subprocess.run(command, check=True)
    normalise_install(target)
    stamp.write_text(digest)


def normalise_install(target: Path) -> None:
    """Console scripts embed the building interpreter's path and no function runs them; drop
    them and their RECORD lines, and any bytecode."""
    shutil.rmtree(target / "bin", ignore_errors=True)
    for cache in sorted(target.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for record in target.glob("*.dist-info/RECORD"):
        lines = record.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if not line.startswith("../") and "__pycache__" not in line]
        record.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def pinned_versions(site_packages: Path) -> dict[str, str]:
    """Name -> version of every installed distribution, from its METADATA."""
    pins = {}
    for metadata in site_packages.glob("*.dist-info/METADATA"):
        fields = dict(
            line.split(": ", 1)
            for line in metadata.read_text(encoding="utf-8").splitlines()[:20]
            if ": " in line
        )
        pins[fields["Name"].lower()] = fields["Version"]
    return dict(sorted(pins.items()))


def write_zip(path: Path, entries: Iterable[Entry]) -> None:
    """A zip whose bytes depend only on the entries: sorted, fixed dates and modes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(entries, key=lambda entry: entry.arcname)
    names = [entry.arcname for entry in ordered]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate entries in {path.name}")
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for entry in ordered:
            info = zipfile.ZipInfo(entry.arcname, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the modes below are honoured
            info.external_attr = (0o100755 if entry.executable else 0o100644) << 16
            archive.writestr(info, entry.read())
    tmp.replace(path)


def write_tree(root: Path, entries: Iterable[Entry]) -> None:
    """Copy entries into a folder with fixed modes and times (a Docker build context)."""
    shutil.rmtree(root, ignore_errors=True)
    for entry in entries:
        target = root / entry.arcname
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(entry.read())
        target.chmod(0o755 if entry.executable else 0o644)
        os.utime(target, (FILE_EPOCH, FILE_EPOCH))


def tree_digest(root: Path) -> str:
    """sha256 over the sorted (path, mode, content digest) of every file in a folder."""
    lines = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            mode = "755" if os.access(path, os.X_OK) else "644"
            lines.append(f"{path.relative_to(root).as_posix()} {mode} {sha256_file(path)}\n")
    return sha256_bytes("".join(lines).encode())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def size(entries: Iterable[Entry]) -> int:
    return sum(
        len(entry.data) if entry.data is not None else entry.source.stat().st_size  # type: ignore[union-attr]
        for entry in entries
    )


def gcp_entries(app: list[Entry], pins: dict[str, str]) -> Iterator[Entry]:
    lock = "".join(f"{name}=={version}\n" for name, version in pins.items())
    for entry in app:
        yield (
            Entry(entry.arcname, data=lock.encode())
            if entry.arcname == "requirements.txt"
            else entry
        )
    if GCP_SOURCE != "main.py":
        yield Entry("main.py", data=GCP_MAIN.encode())


def build(out: Path, *, fresh: bool = False, root: Path = REPO_ROOT) -> dict:
    """Build every artefact into `out` and return the manifest (also written to disk)."""
    site_packages = out / "build" / "site-packages"
    install_dependencies(root / "requirements.txt", site_packages, fresh=fresh)
    app = app_entries(root)
    deps = tree_entries(site_packages)
    pins = pinned_versions(site_packages)
    artifacts: dict[str, dict] = {}

    azure_zip = out / "azure" / "functionapp.zip"
    write_zip(azure_zip, app + tree_entries(site_packages, ".python_packages/lib/site-packages/"))
    artifacts["azure"] = zip_record(azure_zip, out, size(app) + size(deps))

    gcp = list(gcp_entries(app, pins))
    gcp_zip = out / "gcp" / "source.zip"
    write_zip(gcp_zip, gcp)
    artifacts["gcp"] = zip_record(gcp_zip, out, size(gcp))

    lambda_bytes = size(app) + size(deps)
    context = out / "aws" / "image"
    write_tree(context / "app", app + deps)
    (context / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    artifacts["aws"] = {
        "kind": "image",
        "path": context.relative_to(out).as_posix(),
        "sha256": tree_digest(context),
        "unzipped_bytes": lambda_bytes,
        "fits_zip": lambda_bytes <= LAMBDA_UNZIPPED_LIMIT,
    }
    manifest = {
        "platform": PLATFORM,
        "python": PYTHON_VERSION,
        "requirements_sha256": sha256_file(root / "requirements.txt"),
        "lambda_unzipped_limit_bytes": LAMBDA_UNZIPPED_LIMIT,
        "artifacts": artifacts,
        "packages": pins,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def zip_record(path: Path, out: Path, unzipped: int) -> dict:
    return {
        "kind": "zip",
        "path": path.relative_to(out).as_posix(),
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "unzipped_bytes": unzipped,
    }


def describe(manifest: dict) -> str:
    """The summary `make package` prints: one line per artefact with its sizes and digest."""
    lines = []
    for cloud, record in manifest["artifacts"].items():
        packed = f"{record['bytes'] / 1e6:.1f} MB zipped, " if "bytes" in record else ""
        lines.append(
            f"{cloud:5} {record['kind']:5} {record['path']}: {packed}"
            f"{record['unzipped_bytes'] / 1e6:.1f} MB unzipped, sha256 {record['sha256'][:16]}"
        )
    aws = manifest["artifacts"]["aws"]
    limit = manifest["lambda_unzipped_limit_bytes"]
    verdict = "a zip would fit" if aws["fits_zip"] else "over it, so a container image"
    lines.append(
        f"Lambda: {aws['unzipped_bytes'] / 1e6:.1f} MB unzipped against the "
        f"{limit / 1e6:.1f} MB limit, {verdict}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist", help="output folder")
    parser.add_argument("--fresh", action="store_true", help="reinstall the dependencies")
    args = parser.parse_args(argv)
    print(describe(build(args.out.resolve(), fresh=args.fresh)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
