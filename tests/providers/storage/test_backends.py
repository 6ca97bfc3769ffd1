"""Every backend behaves the same through the storage interface, on real local servers."""

from __future__ import annotations

import pytest

from providers.storage import storage_for
from tests.servers.lakes import LakeTarget


def test_file_verbs_behave_the_same_everywhere(target: LakeTarget) -> None:
    store = storage_for(target.url, target.environ)
    assert store.list("landing") == []
    store.write_bytes("landing/pos/orders/b.csv", b"b")
    store.write_bytes("landing/pos/orders/a.csv", b"first")
    store.write_bytes("landing/pos/orders/a.csv", b"a")
    store.write_bytes("landing/web/customers/c.jsonl", b"{}")
    store.write_bytes("_ops/keys/x", b"x")

    assert store.list("landing") == [
        "landing/pos/orders/a.csv",
        "landing/pos/orders/b.csv",
        "landing/web/customers/c.jsonl",
    ]
    assert store.list("landing/pos") == ["landing/pos/orders/a.csv", "landing/pos/orders/b.csv"]
    assert store.list("landing/pos/orders/a.csv") == ["landing/pos/orders/a.csv"]
    assert store.list("landing/po") == []
    assert store.list("_ops") == ["_ops/keys/x"]
    assert store.read_bytes("landing/pos/orders/a.csv") == b"a"
    assert store.exists("landing/pos/orders/b.csv")
    assert not store.exists("landing/pos/orders/zzz.csv")

    store.move("landing/pos/orders/b.csv", "landing/_rejected/pos/orders/b.csv")
    assert not store.exists("landing/pos/orders/b.csv")
    assert store.read_bytes("landing/_rejected/pos/orders/b.csv") == b"b"

    store.delete("landing/pos/orders/a.csv")
    store.delete("landing/pos/orders/a.csv")  # deleting twice is fine
    assert not store.exists("landing/pos/orders/a.csv")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("landing/pos/orders/a.csv")


def test_table_urls_sit_under_the_lake_root(target: LakeTarget) -> None:
    store = storage_for(target.url, target.environ)
    url = store.table_url("bronze", "orders")
    assert url.endswith("/orders")
    assert "bronze" in url
    assert store.table_url("_ops", "runs").endswith("/runs")


def test_objects_named_by_events_map_back_to_lake_paths() -> None:
    from providers.storage.layout import Layout

    per_layer = Layout("s3", "acme-{layer}")
    assert per_layer.path_of("acme-landing", "pos/orders/x.csv") == "landing/pos/orders/x.csv"
    assert per_layer.path_of("acme-ops", "runs/_delta_log/0.json") == "_ops/runs/_delta_log/0.json"
    assert per_layer.path_of("other-landing", "x.csv") is None
    prefixed = Layout("s3", "lake", "retail")
    assert prefixed.path_of("lake", "retail/landing/pos/x.csv") == "landing/pos/x.csv"
    assert prefixed.path_of("lake", "elsewhere/landing/x.csv") is None
    assert prefixed.path_of("lake2", "retail/landing/x.csv") is None
    assert Layout("s3", "lake").path_of("lake", "landing/x.csv") == "landing/x.csv"
    for path in ("landing/a/b.csv", "_ops/runs", "_reports/latest.html"):
        assert per_layer.path_of(*per_layer.locate(path)) == path
        assert prefixed.path_of(*prefixed.locate(path)) == path
