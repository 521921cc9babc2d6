"""A recording pass-through between a function and moto: which AWS operations did it call?

Lets the e2e check contracts that are invisible in results, e.g. that the metrics API never
Scans. moto verifies SigV4 signatures when it enforces IAM, and the signature covers the Host
header, so requests are forwarded byte for byte with the Host the client signed (moto routes by
the credential scope, not by Host).
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .http_body import read_body

_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class RecordingProxy:
    def __init__(self, upstream: str):
        up = urlsplit(upstream)
        self.calls: list[str] = []  # e.g. "DynamoDB_20120810.Query" or "GET /bucket/key"
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                body = read_body(self)
                target = self.headers.get("X-Amz-Target") or f"{self.command} {self.path.split('?')[0]}"
                with proxy._lock:
                    proxy.calls.append(target)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Host"] = self.headers.get("Host") or up.netloc  # signed: keep it
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in _HOP:
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return self.calls[mark:]

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
