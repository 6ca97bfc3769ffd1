"""Azure Data Lake Storage Gen2 / Blob Storage backend.

The data path is the Blob API, which serves both an ADLS Gen2 account (hierarchical
namespace) and a plain blob account or Azurite; the DFS API is used only where the
namespace adds something: an atomic rename when a file is moved.

Identity: `AZURE_STORAGE_CONNECTION_STRING` when set (Azurite, or a key or SAS the operator
chose), else DefaultAzureCredential (managed identity in a function app, the Azure CLI or
environment credentials on a laptop); delta-rs gets a bearer token from the same identity.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any
from urllib.parse import urlparse

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.storage.blob import BlobServiceClient, ExponentialRetry

from providers.storage.layout import Layout
from providers.storage.objects import ObjectStorage
from shared.errors import ConfigError, TransientError

SETTING = "LAKEHOUSE_LAKE"
CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ACCOUNT_NAME = "AZURE_STORAGE_ACCOUNT_NAME"
STORAGE_SCOPE = "https://storage.azure.com/.default"
COPY_TIMEOUT = 300.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
AZURITE_URL = "AZURITE_BLOB_STORAGE_URL"
RETRIES = "LAKEHOUSE_STORAGE_RETRIES"


class AzureStorage(ObjectStorage):
    """A lake in a blob container: `abfss://container@account.dfs.core.windows.net[/prefix]`,
    `az://container[/prefix]` (account from the connection string or
    AZURE_STORAGE_ACCOUNT_NAME), or with `{layer}` as the container (one per layer)."""

    def __init__(self, url: str, environ: Mapping[str, str], *, service: Any | None = None) -> None:
        parsed = urlparse(url)
        container = parsed.username or parsed.hostname or ""
        self._connection_string = environ.get(CONNECTION_STRING) or None
        self._parts = _connection_parts(self._connection_string)
        if parsed.username:  # abfss://container@account.dfs.core.windows.net
            self.account = (parsed.hostname or "").split(".", 1)[0]
        else:
            self.account = environ.get(ACCOUNT_NAME) or self._parts.get("AccountName", "")
        if not self.account:
            raise ConfigError(
                f"lake URL {url!r} names no storage account",
                hint=f"use abfss://<container>@<account>.dfs.core.windows.net/ or set "
                f"{ACCOUNT_NAME} or {CONNECTION_STRING}",
            )
        # Tables are addressed as abfss://container@account...: delta-rs resolves commit
        # conflicts wrongly on az:// URLs ("Invalid table version", delta-io/delta-rs#3824).
        super().__init__(
            Layout.parse("abfss", container, parsed.path, url, SETTING),
            host=f"@{self.account}.dfs.core.windows.net",
        )
        self.root_url = url.rstrip("/")
        self._environ = environ
        if service is not None:
            self.__dict__["service"] = service

    @cached_property
    def credential(self) -> Any:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    @cached_property
    def service(self) -> BlobServiceClient:
        # The SDK's exponential retry policy handles throttling and transient faults; its
        # default waits 15 s, then 18 s, 24 s...: too long for a function to sit out.
        retry = ExponentialRetry(
            initial_backoff=1,
            increment_base=3,
            retry_total=int(self._environ.get(RETRIES) or 4),
        )
        options = {"retry_policy": retry, "connection_timeout": 10, "read_timeout": 120}
        if self._connection_string:
            return BlobServiceClient.from_connection_string(self._connection_string, **options)
        return BlobServiceClient(
            f"https://{self.account}.blob.core.windows.net", self.credential, **options
        )

    @cached_property
    def hierarchical(self) -> bool:
        """Whether the account has a hierarchical namespace (ADLS Gen2)."""
        with self._errors(self.layout.container, ""):
            return bool(self.service.get_account_information().get("is_hns_enabled"))

    def _blob(self, container: str, key: str) -> Any:
        return self.service.get_blob_client(container, key)

    def _keys(self, container: str, prefix: str) -> list[str]:
        with self._errors(container, prefix):
            blobs = self.service.get_container_client(container).list_blobs(
                name_starts_with=prefix or None, include=["metadata"]
            )
            # On a namespace account, folders are listed as empty blobs marked hdi_isfolder.
            return [b.name for b in blobs if (b.metadata or {}).get("hdi_isfolder") != "true"]

    def _get(self, container: str, key: str) -> bytes:
        with self._errors(container, key):
            return self._blob(container, key).download_blob().readall()

    def _put(self, container: str, key: str, data: bytes) -> None:
        with self._errors(container, key):
            self._blob(container, key).upload_blob(data, overwrite=True)

    def _remove(self, container: str, key: str) -> None:
        try:
            with self._errors(container, key):
                self._blob(container, key).delete_blob()
        except FileNotFoundError:
            pass

    def _has(self, container: str, key: str) -> bool:
        with self._errors(container, key):
            return bool(self._blob(container, key).exists())

    def _copy(self, container: str, key: str, target_container: str, target_key: str) -> None:
        with self._errors(container, key):
            source = self._blob(container, key)
            target = self._blob(target_container, target_key)
            # Within one account the service authorises the source from the same request;
            # the copy is usually done when the call returns, else it is awaited.
            status = target.start_copy_from_url(source.url).get("copy_status")
            deadline = time.monotonic() + COPY_TIMEOUT
            while status == "pending" and time.monotonic() < deadline:
                time.sleep(0.2)
                status = target.get_blob_properties().copy.status
            if status != "success":
                raise TransientError(
                    f"copy of {container}/{key} to {target_container}/{target_key} ended {status}",
                    hint="run again; the source file is kept until its copy succeeded",
                )

    def _rename(self, container: str, key: str, target_container: str, target_key: str) -> bool:
        if container != target_container or not self.hierarchical:
            return False
        from azure.storage.filedatalake import DataLakeServiceClient

        if self._connection_string:
            lake = DataLakeServiceClient.from_connection_string(self._connection_string)
        else:
            lake = DataLakeServiceClient(
                f"https://{self.account}.dfs.core.windows.net", self.credential
            )
        with self._errors(container, key):
            client = lake.get_file_client(container, key)
            parent = target_key.rsplit("/", 1)[0] if "/" in target_key else ""
            if parent:
                lake.get_directory_client(container, parent).create_directory()
            client.rename_file(f"{target_container}/{target_key}")
        return True

    def delta_options(self) -> dict[str, str]:
        options = {"account_name": self.account}
        parts = self._parts
        if parts.get("AccountKey"):
            options["account_key"] = parts["AccountKey"]
        elif parts.get("SharedAccessSignature"):
            options["sas_token"] = parts["SharedAccessSignature"]
        else:
            with self._errors(self.layout.container, ""):
                options["bearer_token"] = self.credential.get_token(STORAGE_SCOPE).token
        endpoint = parts.get("BlobEndpoint")
        if endpoint and urlparse(endpoint).hostname in LOOPBACK:
            # An emulator (Azurite). delta-rs misreads the log through a plain endpoint
            # override ("Invalid table version" from the third transaction on), but works
            # in its emulator mode, which takes the address from this process variable.
            origin = urlparse(endpoint)
            os.environ[AZURITE_URL] = f"{origin.scheme}://{origin.netloc}"
            options["use_emulator"] = "true"
        elif endpoint:
            options["azure_storage_endpoint"] = endpoint.rstrip("/")
        return options

    @contextmanager
    def _errors(self, container: str, key: str) -> Iterator[None]:
        """SDK errors as errors that name the setting to fix (never a key or token)."""
        where = f"{self.account}/{container}/{key}"
        try:
            yield
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "ContainerNotFound":
                raise ConfigError(
                    f"container {container!r} does not exist in storage account {self.account!r}",
                    hint=f"create it, or fix the container in {SETTING}",
                ) from None
            raise FileNotFoundError(f"no such blob: {where}") from None
        except ClientAuthenticationError as exc:
            raise ConfigError(
                f"access to {where} was denied: {_first_line(exc)}",
                hint="give the app's identity the Storage Blob Data Contributor role on the "
                f"account, or fix {CONNECTION_STRING}",
            ) from None
        except ServiceRequestError:
            raise ConfigError(
                f"cannot reach the blob endpoint of storage account {self.account!r}",
                hint=f"check the account in {SETTING} or the endpoint in {CONNECTION_STRING}",
            ) from None
        except HttpResponseError as exc:
            if exc.status_code == 403:
                raise ConfigError(
                    f"access to {where} was denied ({exc.error_code})",
                    hint="give the app's identity the Storage Blob Data Contributor role",
                ) from None
            raise TransientError(f"blob request on {where} failed: {_first_line(exc)}") from None


def _connection_parts(connection_string: str | None) -> dict[str, str]:
    if not connection_string:
        return {}
    parts = {}
    for item in connection_string.split(";"):
        name, sep, value = item.partition("=")
        if sep:
            parts[name.strip()] = value.strip()
    return parts


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
