#!/usr/bin/env python3
"""A loopback upstream for the demo: answers every request with what it received
(method, path, headers, body) as JSON, so curl shows what sieve let through."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def body(self):
        if "chunked" in self.headers.get("transfer-encoding", ""):
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                chunk = self.rfile.read(size + 2)
                if size == 0:
                    return data
                data += chunk[:size]
        return self.rfile.read(int(self.headers.get("content-length", 0)))

    def answer(self):
        received = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items() if k.lower().startswith(("x-sieve", "content-"))},
            "body": self.body().decode("utf-8", "replace"),
        }
        out = (json.dumps(received, indent=2) + "\n").encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = answer

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # A request sieve blocked is reset mid-body: expected, not worth a traceback.


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8080), Echo).serve_forever()
