"""Schemathesis hooks for `make test` (loaded through SCHEMATHESIS_HOOKS).

A request body that is not UTF-8 is sent as its UTF-8 reading (undecodable bytes become U+FFFD):
still not JSON, so the route must answer 400. cargo lambda watch cannot put a non-UTF-8 body into
the API Gateway event it builds and answers 500 itself, before any function runs; API Gateway
base64-encodes such a body, and the function answers 400 (tests/it/openapi.rs,
a_body_that_is_not_utf8_is_a_400_naming_the_body, sends one in-process)."""
import schemathesis


@schemathesis.hook
def before_call(context, case, **kwargs):
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            case.body = bytes(body).decode("utf-8", "replace").encode("utf-8")
