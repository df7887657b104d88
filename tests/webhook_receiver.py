#!/usr/bin/env python3
"""A webhook receiver for tests: an HTTPS server (Python's http.server over ssl) that answers the
first --fail-first requests with 500 and the rest with 204, and writes each request (headers and
body) as a JSON line to --log. It checks nothing itself: the test reads the log and checks the
signatures with its own HMAC."""
import argparse
import http.server
import json
import ssl
import threading

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--cert", required=True)
p.add_argument("--key", required=True)
p.add_argument("--log", required=True)
p.add_argument("--fail-first", type=int, default=1)
a = p.parse_args()
lock = threading.Lock()
seen = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with lock:
            seen[0] += 1
            fail = seen[0] <= a.fail_first
            with open(a.log, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": dict(self.headers.items()),
                                    "body": body, "answered": 500 if fail else 204}) + "\n")
        if fail:
            msg = b"receiver down for maintenance"
            self.send_response(500)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
        else:
            self.send_response(204)
            self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(a.cert, a.key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
