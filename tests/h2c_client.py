#!/usr/bin/env python3
"""An HTTP/2 cleartext (prior knowledge) client for the Envoy test bed: sends one request
whose body is written in the given chunks and ends with trailers, and prints the response
(status, headers, body, trailers) as JSON. Used by tests/envoy.rs; needs the `h2` package."""
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events

port, path, body_json = int(sys.argv[1]), sys.argv[2], sys.argv[3]
chunks = [c.encode() for c in json.loads(body_json)]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
conn.send_headers(1, [(":method", "POST"), (":path", path), (":authority", "sieve.test"), (":scheme", "http"),
                      ("content-type", "application/json")])
for chunk in chunks:
    conn.send_data(1, chunk)
    sock.sendall(conn.data_to_send())
conn.send_headers(1, [("x-checksum", "abc123")], end_stream=True)
sock.sendall(conn.data_to_send())
reply = {"status": 0, "headers": {}, "body": "", "trailers": {}}
body, done = b"", False
while not done:
    data = sock.recv(65536)
    if not data:
        break
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            reply["headers"] = dict(event.headers)
            reply["status"] = int(reply["headers"].get(":status", 0))
        elif isinstance(event, h2.events.DataReceived):
            body += event.data
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            reply["trailers"] = dict(event.headers)
        elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
            done = True
    sock.sendall(conn.data_to_send())
reply["body"] = body.decode("utf-8", "replace")
print(json.dumps(reply))
