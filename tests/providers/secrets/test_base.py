"""What every cloud store shares (CachedSecrets): the name prefix, the TTL cache and turning
SDK exceptions into platform errors, on a small in-memory store."""

from __future__ import annotations

import pytest

from providers.secrets.base import CachedSecrets
from shared.errors import LakehouseError, SecretNotFoundError, TransientError

VALUE = "s3cr3t-value-never-shown"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class MemoryStore(CachedSecrets):
    """Secrets in a dict; KeyError is its 'not found', ConnectionError its outage."""

    description = "memory store"

    def __init__(self, values: dict[str, str], **options) -> None:
        super().__init__(**options)
        self.values = values
        self.reads: list[str] = []
        self.fail: Exception | None = None

    def _get(self, name: str) -> str:
        self.reads.append(name)
        if self.fail is not None:
            raise self.fail
        return self.values[name]

    def _error(self, name: str, error: Exception) -> LakehouseError | None:
        if isinstance(error, KeyError):
            return SecretNotFoundError(f"secret {name!r} not found in {self.description}")
        if isinstance(error, ConnectionError):
            return TransientError(f"{self.description} unreachable")
        return None


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_second_get_within_the_ttl_does_not_ask_the_store(clock: Clock) -> None:
    store = MemoryStore({"pii-hash-key": VALUE}, ttl=300, clock=clock)
    assert store.get("pii-hash-key") == VALUE
    clock.now += 299.9
    assert store.get("pii-hash-key") == VALUE
    assert store.reads == ["pii-hash-key"]


def test_after_the_ttl_the_store_is_asked_again_and_a_rotated_value_is_seen(clock: Clock) -> None:
    store = MemoryStore({"pii-hash-key": VALUE}, ttl=300, clock=clock)
    assert store.get("pii-hash-key") == VALUE
    store.values["pii-hash-key"] = "rotated"
    clock.now += 300
    assert store.get("pii-hash-key") == "rotated"
    assert store.reads == ["pii-hash-key", "pii-hash-key"]


def test_ttl_zero_always_asks_the_store(clock: Clock) -> None:
    store = MemoryStore({"k": VALUE}, ttl=0, clock=clock)
    store.get("k")
    store.get("k")
    assert store.reads == ["k", "k"]


def test_each_name_is_cached_on_its_own(clock: Clock) -> None:
    store = MemoryStore({"a": "1", "b": "2"}, clock=clock)
    assert [store.get("a"), store.get("b"), store.get("a")] == ["1", "2", "1"]
    assert store.reads == ["a", "b"]


def test_clear_cache(clock: Clock) -> None:
    store = MemoryStore({"k": VALUE}, clock=clock)
    store.get("k")
    store.clear_cache()
    store.get("k")
    assert store.reads == ["k", "k"]


def test_the_prefix_goes_before_every_name(clock: Clock) -> None:
    store = MemoryStore({"lakehouse-pii-hash-key": VALUE}, prefix="lakehouse-", clock=clock)
    assert store.get("pii-hash-key") == VALUE
    assert store.reads == ["lakehouse-pii-hash-key"]
    with pytest.raises(SecretNotFoundError, match="'lakehouse-other' not found in memory store"):
        store.get("other")


def test_sdk_errors_become_platform_errors_chained_to_the_sdk_error(clock: Clock) -> None:
    store = MemoryStore({}, clock=clock)
    with pytest.raises(SecretNotFoundError) as info:
        store.get("pii-hash-key")
    assert isinstance(info.value.__cause__, KeyError)
    store.fail = ConnectionError("refused")
    with pytest.raises(TransientError) as outage:
        store.get("pii-hash-key")
    assert outage.value.transient


def test_failures_are_not_cached(clock: Clock) -> None:
    store = MemoryStore({}, clock=clock)
    with pytest.raises(SecretNotFoundError):
        store.get("k")
    store.values["k"] = VALUE
    assert store.get("k") == VALUE


def test_platform_errors_pass_through_and_unknown_errors_propagate(clock: Clock) -> None:
    store = MemoryStore({}, clock=clock)
    own = TransientError("already ours")
    store.fail = own
    with pytest.raises(TransientError) as info:
        store.get("k")
    assert info.value is own
    store.fail = ZeroDivisionError("a bug, not a store error")
    with pytest.raises(ZeroDivisionError):
        store.get("k")


def test_an_empty_value_is_missing(clock: Clock) -> None:
    store = MemoryStore({"k": ""}, clock=clock)
    with pytest.raises(SecretNotFoundError, match="secret 'k' in memory store is empty"):
        store.get("k")


def test_repr_and_cache_never_show_a_value(clock: Clock) -> None:
    store = MemoryStore({"p-k": VALUE}, prefix="p-", clock=clock)
    store.get("k")
    assert repr(store) == "MemoryStore(memory store, prefix='p-', ttl=300.0)"
    assert VALUE not in repr(vars(store)["_cache"])
