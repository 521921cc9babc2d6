"""Reading a request body in a BaseHTTPRequestHandler, Content-Length or chunked.

The SDKs stream some request bodies (chunked transfer encoding); the runtime client sends
Content-Length. Both local servers of the harness (the Runtime API emulator and the recording
AWS proxy) read bodies the same way through this one function.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return out
            out += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
