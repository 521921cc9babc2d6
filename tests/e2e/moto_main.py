"""`python tests/e2e/moto_main.py -H 127.0.0.1 -p PORT`: moto's server with one fix to its SigV4 check.

moto 5.2.5 recomputes a request's signature over `body or data`, and for a request without a body
`data` is the query string or, failing that, the request *headers* (moto/core/responses.py
`setup_class`). Every bodiless REST-JSON request (Lambda GetFunction/ListFunctions, every API
Gateway GET, ...) then fails with SignatureDoesNotMatch although the client signed it correctly:
SigV4's payload hash covers the body, which is empty
(https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html, "HashedPayload").
The fix gives the signature check an empty payload for bodiless GET/HEAD/DELETE requests; moto's S3 check is left
alone (it signs with the x-amz-content-sha256 header and works). Nothing else is changed.
"""

import sys

from moto.iam import access_control
from moto.server import main

_init = access_control.IAMRequest.__init__


def _init_with_raw_payload(self, account_id, method, path, data, body, headers, action):
    # A form-encoded POST (query protocol) reaches here with an empty raw body and its form in
    # `data`, which moto re-encodes correctly: only bodiless GET/HEAD/DELETE are wrong.
    if not body and method in ("GET", "HEAD", "DELETE"):
        data = {}  # the signed payload is the (empty) body, never the parsed query or headers
    _init(self, account_id, method, path, data, body, headers, action)


access_control.IAMRequest.__init__ = _init_with_raw_payload

if __name__ == "__main__":
    sys.exit(main())
