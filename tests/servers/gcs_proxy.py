"""A small compatibility proxy that puts the GCS XML API delta-rs needs in front of
fake-gcs-server (tests only; standard library only; run as its own process).

Why: delta-rs reaches GCS through object_store, which speaks the XML API
(`PUT /<bucket>/<key>`, `GET /<bucket>?list-type=2`, `x-goog-*` headers). fake-gcs-server
(v1.54) serves the JSON API that google-cloud-storage uses, but of the XML API only reads,
deletes and a basic listing. Measured against it directly:
  - a plain `PUT /<bucket>/<key>` upload answers 400 "invalid uploadType", so delta-rs
    cannot write a single file; the same for a copy (`x-goog-copy-source`) and for
    multipart uploads (`POST ?uploads`);
  - `x-goog-if-generation-match` is not enforced, nor is `ifGenerationMatch` on the JSON
    API (a second create-if-absent silently overwrites), so two writers racing for the
    same Delta log entry would both "win" and one commit would be lost;
  - listing ignores `start-after` and `max-keys` and answers 500 for a missing bucket;
  - reads ignore `If-Match` / `If-None-Match`.

What this proxy emulates (the XML API requests object_store sends, path style):
  - `PUT /<bucket>/<key>`: upload, honouring `x-goog-if-generation-match` (0 = create only
    if absent, N = replace only generation N; else 412 PreconditionFailed); answers with
    the ETag and `x-goog-generation` headers object_store reads back;
  - `PUT` with `x-goog-copy-source: <bucket>/<key>`: server-side copy, same precondition;
  - multipart uploads: `POST ?uploads`, `PUT ?partNumber&uploadId`, `POST ?uploadId`
    (parts are held in this process's memory until completed), `DELETE ?uploadId`;
  - `GET /<bucket>?list-type=2` with `prefix`, `delimiter`, `start-after` (exclusive),
    `max-keys` and `continuation-token`, from the JSON API listing; 404 NoSuchBucket;
  - `GET`/`HEAD` of an object are forwarded (fake-gcs-server serves them with ETag,
    Last-Modified, x-goog-generation and ranges), then `If-Match` (412) and
    `If-None-Match` (304) are applied;
  - `DELETE` of an object is forwarded.
Every write (XML or JSON API) holds one lock from its precondition check to its upload,
so create-if-absent is atomic: of N racing creates of one key, exactly one gets 200.
Everything under `/storage/v1`, `/upload`, `/download` and `/batch` (the JSON API of
google-cloud-storage) is forwarded unchanged.

What it does not emulate: authentication (fake-gcs-server accepts anything), the JSON API's
own `ifGenerationMatch` (forwarded, and fake-gcs-server ignores it), metageneration and
If-(Un)Modified-Since preconditions, object versioning, composite objects, signed URLs,
and virtual-host style (`<bucket>.storage.googleapis.com`) requests.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import threading
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit
from xml.sax.saxutils import escape

JSON_API = ("/storage/v1/", "/upload/", "/download/", "/batch/", "/_internal/")
GENERATION_MATCH = "x-goog-if-generation-match"
COPY_SOURCE = "x-goog-copy-source"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


class Reply:
    """A response to send: status, headers and body."""

    def __init__(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


def xml_error(status: int, code: str, message: str) -> Reply:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
    body += f"<Message>{escape(message)}</Message></Error>"
    return Reply(status, body.encode(), {"Content-Type": "application/xml"})


class Upstream:
    """fake-gcs-server, reached over one short-lived connection per request."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)

    def call(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            # The Host header selects fake-gcs-server's XML routes (its -public-host).
            sent = {"Host": f"{self.host}:{self.port}", **(headers or {})}
            conn.request(method, target, body=body or None, headers=sent)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def json(
        self, method: str, target: str, body: bytes = b"", content_type: str = ""
    ) -> tuple[int, Any]:
        headers = {"Content-Type": content_type} if content_type else {}
        status, _, data = self.call(method, target, body, headers)
        return status, (json.loads(data) if data and status < 300 else None)

    def object(self, bucket: str, key: str) -> dict | None:
        """The object's JSON metadata, or None when it (or its bucket) does not exist."""
        status, meta = self.json("GET", f"/storage/v1/b/{_q(bucket)}/o/{_q(key)}")
        return meta if status == 200 else None


class GcsProxy(ThreadingHTTPServer):
    daemon_threads = True
    # Concurrent writers open many connections at once; the default backlog of 5 drops the
    # rest, and each dropped connect costs the client a one-second SYN retry.
    request_queue_size = 128

    def __init__(self, port: int, upstream: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.upstream = Upstream(upstream)
        self.write_lock = threading.Lock()
        self.uploads: dict[str, tuple[str, str, dict[int, bytes]]] = {}
        self.stats: Counter[str] = Counter()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write (flushed after each request): two small writes
    # would wait on the client's delayed ACK, some 40 ms per request.
    wbufsize = 1 << 16
    server: GcsProxy

    def do_GET(self) -> None:
        self.respond()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_GET

    def respond(self) -> None:
        body = self.read_body()
        try:
            if self.command in ("GET", "HEAD"):
                reply = self.route(body)
            else:
                with self.server.write_lock:
                    reply = self.route(body)
        except Exception as exc:  # a bug here must show in the test, not hang the client
            reply = xml_error(500, "InternalError", f"proxy: {type(exc).__name__}: {exc}")
        self.server.stats[str(reply.status)] += 1
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        # A HEAD reply carries the object's length, forwarded from fake-gcs-server.
        if not (self.command == "HEAD" and "Content-Length" in reply.headers):
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    # -- routing ------------------------------------------------------------------------
    def route(self, body: bytes) -> Reply:
        url = urlsplit(self.path)
        if url.path == "/_proxy/stats":
            return Reply(200, json.dumps(self.server.stats).encode())
        if url.path.startswith(JSON_API):
            return self.forward(body)
        query = parse_qs(url.query, keep_blank_values=True)
        bucket, _, raw_key = url.path.lstrip("/").partition("/")
        bucket, key = unquote(bucket), unquote(raw_key)
        method = self.command
        if not bucket:
            return xml_error(400, "InvalidURI", "no bucket in the path")
        if not key:
            if method == "GET":
                return self.list_objects(bucket, query)
            return xml_error(501, "NotImplemented", f"{method} on a bucket is not emulated")
        if "uploads" in query and method == "POST":
            return self.start_upload(bucket, key)
        if "uploadId" in query:
            return self.multipart(method, query, body)
        if method == "PUT" and self.headers.get(COPY_SOURCE):
            return self.copy(bucket, key)
        if method == "PUT":
            return self.put(bucket, key, body)
        if method in ("GET", "HEAD"):
            return self.read(bucket, key)
        if method == "DELETE":
            return self.forward(body)
        return xml_error(501, "NotImplemented", f"{method} on an object is not emulated")

    def forward(self, body: bytes) -> Reply:
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "host"
        }
        status, answer, data = self.server.upstream.call(self.command, self.path, body, headers)
        kept = {k: v for k, v in answer if k.lower() not in HOP_BY_HOP}
        if self.command == "HEAD":
            kept["Content-Length"] = dict(answer).get("Content-Length", "0")
        return Reply(status, data, kept)

    # -- objects --------------------------------------------------------------------------
    def read(self, bucket: str, key: str) -> Reply:
        reply = self.forward(b"")
        etag = {k.lower(): v for k, v in reply.headers.items()}.get("etag")
        if reply.status >= 300 or etag is None:
            return reply
        if_match = self.headers.get("If-Match")
        if if_match is not None and not _etag_in(etag, if_match):
            return xml_error(412, "PreconditionFailed", "If-Match did not hold")
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None and _etag_in(etag, if_none_match):
            return Reply(304, b"", {"ETag": etag})
        return reply

    def precondition(self, bucket: str, key: str) -> Reply | None:
        """412 when `x-goog-if-generation-match` does not hold (called under the lock)."""
        wanted = self.headers.get(GENERATION_MATCH)
        if wanted is None:
            return None
        current = self.server.upstream.object(bucket, key)
        generation = int(current["generation"]) if current else 0
        if int(wanted) != generation:
            self.server.stats["precondition_failed"] += 1
            return xml_error(
                412, "PreconditionFailed", "At least one of the pre-conditions did not hold."
            )
        return None

    def put(self, bucket: str, key: str, body: bytes) -> Reply:
        if (failed := self.precondition(bucket, key)) is not None:
            return failed
        content_type = self.headers.get("Content-Type") or "application/octet-stream"
        return self.upload(bucket, key, body, content_type)

    def upload(self, bucket: str, key: str, body: bytes, content_type: str) -> Reply:
        target = f"/upload/storage/v1/b/{_q(bucket)}/o?" + urlencode(
            {"uploadType": "media", "name": key}
        )
        status, meta = self.server.upstream.json("POST", target, body, content_type)
        if status == 404:
            return xml_error(404, "NoSuchBucket", "The specified bucket does not exist.")
        if meta is None:
            return xml_error(status, "UpstreamError", f"fake-gcs-server answered {status}")
        return Reply(200, b"", _object_headers(meta))

    def copy(self, bucket: str, key: str) -> Reply:
        source_bucket, _, source_key = unquote(self.headers[COPY_SOURCE]).lstrip("/").partition("/")
        if (failed := self.precondition(bucket, key)) is not None:
            return failed
        target = (
            f"/storage/v1/b/{_q(source_bucket)}/o/{_q(source_key)}"
            f"/copyTo/b/{_q(bucket)}/o/{_q(key)}"
        )
        status, meta = self.server.upstream.json("POST", target)
        if meta is None:
            code = "NoSuchKey" if status == 404 else "UpstreamError"
            return xml_error(status, code, f"copy from {source_bucket}/{source_key} failed")
        body = f"<CopyObjectResult><ETag>{_etag(meta)}</ETag></CopyObjectResult>".encode()
        return Reply(200, body, {**_object_headers(meta), "Content-Type": "application/xml"})

    # -- multipart uploads ------------------------------------------------------------------
    def start_upload(self, bucket: str, key: str) -> Reply:
        upload_id = uuid.uuid4().hex
        self.server.uploads[upload_id] = (bucket, key, {})
        body = (
            "<InitiateMultipartUploadResult>"
            f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(key)}</Key>"
            f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
        )
        return Reply(200, body.encode(), {"Content-Type": "application/xml"})

    def multipart(self, method: str, query: dict[str, list[str]], body: bytes) -> Reply:
        upload_id = query["uploadId"][0]
        upload = self.server.uploads.get(upload_id)
        if upload is None:
            return xml_error(404, "NoSuchUpload", f"no upload {upload_id}")
        bucket, key, parts = upload
        if method == "PUT":
            parts[int(query["partNumber"][0])] = body
            return Reply(200, b"", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'})
        if method == "DELETE":
            del self.server.uploads[upload_id]
            return Reply(204)
        numbers = [int(e.text or 0) for e in ET.fromstring(body).iter() if e.tag == "PartNumber"]
        data = b"".join(parts[n] for n in numbers)
        del self.server.uploads[upload_id]
        reply = self.upload(bucket, key, data, "application/octet-stream")
        if reply.status != 200:
            return reply
        etag = reply.headers["ETag"]
        reply.body = (
            f"<CompleteMultipartUploadResult><Bucket>{escape(bucket)}</Bucket>"
            f"<Key>{escape(key)}</Key><ETag>{escape(etag)}</ETag>"
            "</CompleteMultipartUploadResult>"
        ).encode()
        reply.headers["Content-Type"] = "application/xml"
        return reply

    # -- listing ------------------------------------------------------------------------------
    def list_objects(self, bucket: str, query: dict[str, list[str]]) -> Reply:
        def arg(name: str) -> str:
            return query.get(name, [""])[0]

        start_after = arg("start-after")
        params = {
            "prefix": arg("prefix"),
            "delimiter": arg("delimiter"),
            # startOffset is inclusive, start-after is not: the equal key is dropped below.
            "startOffset": start_after,
            "maxResults": arg("max-keys"),
            "pageToken": arg("continuation-token"),
        }
        given = urlencode({k: v for k, v in params.items() if v})
        target = f"/storage/v1/b/{_q(bucket)}/o?{given}"
        status, page = self.server.upstream.json("GET", target)
        if status == 404:
            return xml_error(404, "NoSuchBucket", "The specified bucket does not exist.")
        if page is None:
            return xml_error(status, "UpstreamError", f"fake-gcs-server answered {status}")
        items = [i for i in page.get("items", []) if i["name"] != start_after]
        out = [f"<ListBucketResult><Name>{escape(bucket)}</Name>"]
        out.append(f"<Prefix>{escape(params['prefix'])}</Prefix><KeyCount>{len(items)}</KeyCount>")
        for item in items:
            out.append(
                f"<Contents><Key>{escape(item['name'])}</Key>"
                f"<Generation>{item['generation']}</Generation>"
                f"<LastModified>{item['updated']}</LastModified>"
                f"<ETag>{escape(_etag(item))}</ETag><Size>{item['size']}</Size></Contents>"
            )
        for prefix in page.get("prefixes", []):
            out.append(f"<CommonPrefixes><Prefix>{escape(prefix)}</Prefix></CommonPrefixes>")
        if page.get("nextPageToken"):
            token = escape(page["nextPageToken"])
            out.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
        out.append("</ListBucketResult>")
        body = "<?xml version='1.0' encoding='UTF-8'?>" + "".join(out)
        return Reply(200, body.encode(), {"Content-Type": "application/xml"})


def _q(name: str) -> str:
    return quote(name, safe="")


def _etag(meta: dict) -> str:
    # fake-gcs-server's XML reads answer with the quoted base64 MD5: the same value here
    # keeps an ETag from a PUT comparable with one from a GET or a listing.
    return f'"{meta.get("md5Hash") or base64.b64encode(b"").decode()}"'


def _etag_in(etag: str, header: str) -> bool:
    wanted = [v.strip() for v in header.split(",")]
    return "*" in wanted or etag in wanted or etag.strip('"') in (w.strip('"') for w in wanted)


def _object_headers(meta: dict) -> dict[str, str]:
    return {
        "ETag": _etag(meta),
        "x-goog-generation": str(meta["generation"]),
        "x-goog-metageneration": str(meta.get("metageneration", "1")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="fake-gcs-server as host:port")
    args = parser.parse_args()
    GcsProxy(args.port, args.upstream).serve_forever()


if __name__ == "__main__":
    main()
