#!/usr/bin/env python3
"""An HTTP/2 cleartext (prior knowledge) client for the Envoy test bed. Sends one POST described
by a JSON spec {"path", "headers": [[k, v]], "chunks": [hex], "trailers": [[k, v]]}, its body
written chunk by chunk and ended by the trailers (or by the last chunk if there are none), and
prints the response as JSON: status, headers, body (text) and body_hex, trailers.
With {"websocket": true}, it opens a WebSocket by extended CONNECT (RFC 8441) instead, sends
each chunk once the echo of the one before (up to a newline) came back, and prints the status,
each chunk's echo, and whether the stream was reset.
With {"streams": [{"path", "headers", "chunks"}]}, it sends several POSTs on the one connection,
their bodies' chunks interleaved (the first chunk of each, then the second of each, with a pause
between rounds), and prints a list of each stream's status and body (text), in order.
Used by tests/envoy.rs, tests/envoy_bodies.rs and tests/envoy_grpc.rs; needs the `h2` package."""
import json
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events

port, spec = int(sys.argv[1]), json.loads(sys.argv[2])
chunks = [bytes.fromhex(c) for c in spec.get("chunks", [])]
trailers = [tuple(t) for t in spec.get("trailers", [])]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()


def websocket():
    """The extended CONNECT exchange: one echo per chunk, a reset ends it."""
    head = [(":method", "CONNECT"), (":protocol", "websocket"), (":path", spec["path"]),
            (":authority", "sieve.test"), (":scheme", "http")]
    # Extended CONNECT waits for the server's SETTINGS_ENABLE_CONNECT_PROTOCOL.
    sock.sendall(conn.data_to_send())
    while conn.remote_settings.enable_connect_protocol != 1:
        data = sock.recv(65536)
        if not data:
            return {"status": 0, "echoes": [], "reset": False}
        conn.receive_data(data)
        sock.sendall(conn.data_to_send())
    conn.send_headers(1, head)
    sock.sendall(conn.data_to_send())
    out, pending, ended = {"status": 0, "echoes": [], "reset": False}, [b""], False

    def pump(until):
        nonlocal ended
        while not until() and not ended:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                return
            if not data:
                ended = True
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    out["status"] = int(dict(event.headers).get(":status", 0))
                elif isinstance(event, h2.events.DataReceived):
                    pending[0] += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    out["reset"], ended = True, True
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
            sock.sendall(conn.data_to_send())

    pump(lambda: out["status"] != 0)
    for chunk in chunks:
        if ended:
            break
        conn.send_data(1, chunk)
        sock.sendall(conn.data_to_send())
        pump(lambda: pending[0].endswith(b"\n"))
        out["echoes"].append(pending[0].decode("utf-8", "replace"))
        pending[0] = b""
    return out


def streams():
    """Several POSTs on one connection, their chunks interleaved: each one's status and body."""
    ids = [1 + 2 * i for i in range(len(spec["streams"]))]
    bodies = [[bytes.fromhex(c) for c in s["chunks"]] for s in spec["streams"]]
    for sid, s in zip(ids, spec["streams"]):
        head = [(":method", "POST"), (":path", s["path"]), (":authority", "sieve.test"), (":scheme", "http")]
        conn.send_headers(sid, head + [tuple(h) for h in s["headers"]])
    sock.sendall(conn.data_to_send())
    for r in range(max(len(b) for b in bodies)):
        for sid, body in zip(ids, bodies):
            if r < len(body):
                conn.send_data(sid, body[r], end_stream=r == len(body) - 1)
        sock.sendall(conn.data_to_send())
        time.sleep(0.05)  # Envoy then hands each round to the filters as its own chunks.
    out = {sid: {"status": 0, "body": b""} for sid in ids}
    ended = set()
    while len(ended) < len(ids):
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                out[event.stream_id]["status"] = int(dict(event.headers).get(":status", 0))
            elif isinstance(event, h2.events.DataReceived):
                out[event.stream_id]["body"] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                ended.add(event.stream_id)
        sock.sendall(conn.data_to_send())
    return [{"status": out[sid]["status"], "body": out[sid]["body"].decode("utf-8", "replace")} for sid in ids]


if "streams" in spec:
    print(json.dumps(streams()))
    sys.exit(0)
if spec.get("websocket"):
    sock.settimeout(3)
    print(json.dumps(websocket()))
    sys.exit(0)
head = [(":method", "POST"), (":path", spec["path"]), (":authority", "sieve.test"), (":scheme", "http")]
conn.send_headers(1, head + [tuple(h) for h in spec.get("headers", [])], end_stream=not chunks and not trailers)
for i, chunk in enumerate(chunks):
    conn.send_data(1, chunk, end_stream=not trailers and i == len(chunks) - 1)
    sock.sendall(conn.data_to_send())
if trailers:
    conn.send_headers(1, trailers, end_stream=True)
sock.sendall(conn.data_to_send())
reply = {"status": 0, "headers": {}, "body": "", "body_hex": "", "trailers": {}}
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
reply["body_hex"] = body.hex()
print(json.dumps(reply))
