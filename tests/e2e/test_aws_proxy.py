"""The recording proxy forwards requests unchanged and records the operation of each."""

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .aws_proxy import RecordingProxy


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = json.dumps({"path": self.path, "body": body.decode(), "host": self.headers["Host"],
                           "target": self.headers.get("X-Amz-Target")}).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "r1")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST


def test_forwards_and_records():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    up = f"http://127.0.0.1:{upstream.server_address[1]}"
    proxy = RecordingProxy(up)
    try:
        req = urllib.request.Request(proxy.url + "/", data=b'{"TableName":"t"}', method="POST",
                                     headers={"X-Amz-Target": "DynamoDB_20120810.Query"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 201 and r.headers["x-amzn-RequestId"] == "r1"
            echoed = json.loads(r.read())
        # The Host the client sent (and signed) reaches upstream unchanged.
        assert echoed == {"path": "/", "body": '{"TableName":"t"}', "host": proxy.url.removeprefix("http://"),
                          "target": "DynamoDB_20120810.Query"}
        mark = proxy.mark()
        with urllib.request.urlopen(proxy.url + "/bucket/key?versionId=1") as r:
            assert json.loads(r.read())["path"] == "/bucket/key?versionId=1"
        assert proxy.since(mark) == ["GET /bucket/key"]
        assert proxy.calls == ["DynamoDB_20120810.Query", "GET /bucket/key"]
    finally:
        proxy.close()
        upstream.shutdown()
