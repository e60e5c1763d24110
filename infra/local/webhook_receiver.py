"""The local stand-in for a practice system's webhook endpoint, which `make up` registers for
its demo clinic: it verifies each post's `Tidings-Signature` with the endpoint's secret (as
docs/api.md shows integrators), answers 200, and logs the event's type and id, never its data.
"""

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret, header, body, tolerance=300):
    """docs/api.md's check: HMAC-SHA256 of `<t>.<body>` under the secret, `t` within 5 minutes."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
    except ValueError:
        return False
    t, sig = parts.get("t", ""), parts.get("v1", "")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return t.isdigit() and abs(time.time() - int(t)) <= tolerance and hmac.compare_digest(sig, expected)


class Receiver:
    def __init__(self, port, log):
        self.secret = None
        self.events = []  # (type, id, verified)
        self.log = log
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = receiver.secret is not None and verify(receiver.secret, self.headers.get("Tidings-Signature", ""), body)
                try:
                    event = json.loads(body)
                except ValueError:
                    event = {}
                receiver.events.append((event.get("type"), event.get("id"), ok))
                receiver.log.write(f"{datetime.now(timezone.utc).isoformat()} {event.get('type')} {event.get('id')} "
                                   f"signature {'verified' if ok else 'WRONG'}\n")
                receiver.log.flush()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook-receiver").start()

    def wait_for(self, kind, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for e in self.events:
                if e[0] == kind:
                    return e
            time.sleep(0.2)
        return None
