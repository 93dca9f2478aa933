"""A tiny HTTP proxy in front of a local S3 server that records requests and injects faults
(error statuses, truncated or corrupted bodies), to test retries and read verification over
real HTTP."""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Fault:
    status: int | None = None  # answer this status with `body` instead of forwarding
    body: bytes = b""
    truncate_to: int | None = None  # forward, keep Content-Length, send this many bytes, drop the connection
    short_to: int | None = None  # forward, but send this many bytes with a matching Content-Length
    corrupt: bool = False  # forward, flip the first byte of the body
    reset: bool = False  # answer nothing: reset the connection (TCP RST)


class FaultProxy:
    """`proxy.fault = lambda seen: Fault(...) or None` decides per request."""

    def __init__(self, upstream: str):
        self.upstream = urlsplit(upstream)
        self.seen: list[Seen] = []
        self.fault = lambda seen: None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body)
                with proxy._lock:
                    proxy.seen.append(seen)
                fault = proxy.fault(seen) or Fault()
                if fault.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault.status:
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(fault.body)))
                    self.end_headers()
                    self.wfile.write(fault.body)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                # headers verbatim (Host included): the request is signed for the proxy's host
                upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    upstream.putheader(name, value)
                upstream.endheaders(body or None)
                resp = upstream.getresponse()
                data = resp.read()
                upstream.close()
                sent = data
                if fault.corrupt and data:
                    sent = bytes([data[0] ^ 0xFF]) + data[1:]
                if fault.short_to is not None:
                    sent = data[: fault.short_to]
                self.send_response(resp.status, resp.reason)
                for name, value in resp.getheaders():
                    if name.lower() not in HOP_HEADERS and name.lower() != "content-length":
                        self.send_header(name, value)
                declared = len(data) if fault.truncate_to is not None else len(sent)
                if self.command == "HEAD":
                    declared = int(resp.getheader("Content-Length") or 0)
                self.send_header("Content-Length", str(declared))
                if fault.truncate_to is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command == "HEAD":
                    return
                if fault.truncate_to is not None:
                    self.wfile.write(sent[: fault.truncate_to])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(sent)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        return Handler
