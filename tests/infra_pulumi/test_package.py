"""The packaging step's building blocks: byte-identical zips, an install normalised of
machine-specific files, the GCP source with pinned versions and a root main.py, and the
image context digest. (A full `make package` installs ~500 MB of dependencies, so it is not run
here; the README gives its figures.)"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from infra_pulumi import package
from infra_pulumi.package import Entry


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_zip_bytes_depend_only_on_the_entries(tmp_path: Path) -> None:
    (tmp_path / "b.py").write_text("print('b')\n")
    (tmp_path / "a.py").write_text("print('a')\n")
    entries = [Entry("pkg/b.py", tmp_path / "b.py"), Entry("a.py", tmp_path / "a.py")]
    first, second = tmp_path / "one.zip", tmp_path / "two.zip"
    package.write_zip(first, entries)
    (tmp_path / "a.py").touch()  # a newer mtime must not change the archive
    package.write_zip(second, list(reversed(entries)))
    assert sha(first) == sha(second)
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["a.py", "pkg/b.py"]
    assert {i.date_time for i in infos} == {package.ZIP_EPOCH}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_duplicate_entries_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        package.write_zip(tmp_path / "x.zip", [Entry("a", data=b"1"), Entry("a", data=b"2")])


def test_install_is_normalised(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool").write_text("#!/home/someone/.venv/bin/python\n")
    (tmp_path / "lib" / "__pycache__").mkdir(parents=True)
    (tmp_path / "lib" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    info = tmp_path / "lib-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("lib/x.py,sha256=abc,3\n../../bin/tool,sha256=def,9\n")
    package.normalise_install(tmp_path)
    assert not (tmp_path / "bin").exists()
    assert not (tmp_path / "lib" / "__pycache__").exists()
    assert (info / "RECORD").read_text() == "lib/x.py,sha256=abc,3\n"


def test_app_entries_are_the_function_app_without_bytecode() -> None:
    names = {entry.arcname for entry in package.app_entries()}
    assert {"function_app.py", "host.json", "requirements.txt"} <= names
    assert any(name.startswith("shared/") for name in names)
    assert any(name.startswith("contracts/") for name in names)
    assert not any("__pycache__" in name or name.startswith("tests/") for name in names)
    assert not any(name.startswith("infra_pulumi/") for name in names)


def test_gcp_source_pins_versions_and_exposes_the_entry_points() -> None:
    app = [Entry("requirements.txt", data=b"duckdb>=1.2\n"), Entry("shared/x.py", data=b"")]
    entries = {e.arcname: e.read() for e in package.gcp_entries(app, {"duckdb": "1.4.1"})}
    assert entries["requirements.txt"] == b"duckdb==1.4.1\n"
    main = entries["main.py"].decode()
    assert "from functions.gcp.main import http, ingest, scheduled" in main


def test_pinned_versions_come_from_the_installed_metadata(tmp_path: Path) -> None:
    info = tmp_path / "PyYAML-6.0.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.2\n")
    assert package.pinned_versions(tmp_path) == {"pyyaml": "6.0.2"}


def test_image_context_digest_follows_content_and_modes(tmp_path: Path) -> None:
    context = tmp_path / "image"
    package.write_tree(context / "app", [Entry("a.py", data=b"1")])
    first = package.tree_digest(context)
    package.write_tree(context / "app", [Entry("a.py", data=b"1")])
    assert package.tree_digest(context) == first
    package.write_tree(context / "app", [Entry("a.py", data=b"2")])
    assert package.tree_digest(context) != first


def test_summary_names_the_lambda_decision() -> None:
    manifest = {
        "lambda_unzipped_limit_bytes": package.LAMBDA_UNZIPPED_LIMIT,
        "artifacts": {
            "aws": {
                "kind": "image",
                "path": "aws/image",
                "sha256": "c" * 64,
                "unzipped_bytes": 482_000_000,
                "fits_zip": False,
            }
        },
    }
    text = package.describe(manifest)
    assert "482.0 MB unzipped against the 262.1 MB limit, over it" in text
    assert json.dumps(manifest)
