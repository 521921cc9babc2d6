"""`python tests/e2e/moto_main.py -H 127.0.0.1 -p PORT`: moto's server with one fix to its SigV4 check.

moto 5.2.5 recomputes a request's signature over `body or data`, and for a request without a body
`data` is the query string or, failing that, the request *headers* (moto/core/responses.py
`setup_class`). Every bodiless REST-JSON request (Lambda GetFunction/ListFunctions, every API
Gateway GET, ...) then fails with SignatureDoesNotMatch although the client signed it correctly:
SigV4's payload hash covers the body, which is empty
(https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html, "HashedPayload").
A form-encoded POST (the query protocol: SNS, SQS, CloudWatch, IAM) reaches the check with an empty
body and its parsed form in `data`, which moto re-encodes with Python's rules: a client that
percent-encodes differently (the Rust SDK's SNS Publish of a message with newlines and punctuation,
measured) fails although the signature over the bytes it sent is right.

The fix computes the signature over the bytes the client sent, as AWS does: a WSGI wrapper keeps each
request's raw body (per thread: werkzeug serves each request on its own thread), and the check uses
it; a bodiless request signs the empty payload, never the parsed query or headers. moto's S3 check is
left alone (it signs with the x-amz-content-sha256 header and works). Nothing else is changed.
"""

import io
import sys
import threading

import moto.server
from moto.iam import access_control
from moto.server import main

_request = threading.local()
_Dispatcher = moto.server.DomainDispatcherApplication


class _RawBodyDispatcher(_Dispatcher):
    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        _request.body = raw
        return super().__call__(environ, start_response)


_init = access_control.IAMRequest.__init__


def _init_with_raw_payload(self, account_id, method, path, data, body, headers, action):
    raw = getattr(_request, "body", None)
    if raw is not None:
        body = raw
    if not body:
        data = {}  # the signed payload is the (empty) body, never the parsed query or headers
    _init(self, account_id, method, path, data, body, headers, action)


moto.server.DomainDispatcherApplication = _RawBodyDispatcher
access_control.IAMRequest.__init__ = _init_with_raw_payload

if __name__ == "__main__":
    sys.exit(main())
