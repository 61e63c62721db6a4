"""The HTTP server under /metrics, /healthz and the live page, hardened for hostile clients.

``http.server`` as it comes holds an idle or half-sent connection forever (one thread each),
accepts any number of them, and prints a traceback to stderr for every client that hangs up
mid-answer. Here:

* **bounded connections**: at most ``max_connections`` are served at once; one more is
  answered ``503`` and closed at once;
* **request timeout**: the request line and headers must arrive within ``request_timeout_s``
  of the connection being ready for a request (keep-alive waits included), or it is closed;
* **idle timeout**: every socket read or write gives up after ``idle_timeout_s`` (a client
  that stops reading an event stream is dropped);
* **quiet disconnects**: a client that goes away ends its thread without a word; any other
  handler error is one log line, never a traceback on stderr.

Also here: the rules of the ``Host`` header (:func:`host_allowed`) and of the bearer token
(:func:`token_ok`), shared by the routes that check them.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("engine.httpd")

TOKEN_COOKIE = "deepscreen_token"
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n")
_QUIET = (ConnectionError, TimeoutError, socket.timeout)


class GuardedServer(ThreadingHTTPServer):
    """A threading HTTP server with a connection limit and quiet error handling.

    Args:
        address: (host, port) to bind.
        handler: a :class:`GuardedHandler` subclass.
        max_connections: connections served at once.
        request_timeout_s: longest wait for a request line and its headers.
        idle_timeout_s: longest wait of any single read or write.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], *,
                 max_connections: int = 64, request_timeout_s: float = 10.0,
                 idle_timeout_s: float = 30.0) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.request_timeout_s = request_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._slots = threading.BoundedSemaphore(max_connections)
        # One watchdog for all request deadlines (a timer thread per connection would double
        # the threads a flood costs).
        self._deadlines: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        super().__init__(address, handler)
        threading.Thread(target=self._watch, name="http-deadlines", daemon=True).start()

    def arm(self, conn: socket.socket) -> None:
        """Start the request-head deadline of ``conn``."""
        with self._lock:
            self._deadlines[conn] = time.monotonic() + self.request_timeout_s

    def disarm(self, conn: socket.socket) -> None:
        with self._lock:
            self._deadlines.pop(conn, None)

    def _watch(self) -> None:
        step = min(0.25, self.request_timeout_s / 4)
        while not self._closed.wait(step):
            now = time.monotonic()
            with self._lock:
                late = [c for c, t in self._deadlines.items() if t <= now]
                for conn in late:
                    del self._deadlines[conn]
            for conn in late:
                try:
                    conn.shutdown(socket.SHUT_RDWR)  # the handler's read returns at once
                except OSError:
                    pass

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def process_request(self, request, client_address) -> None:  # noqa: ANN001
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread was started to release it
            raise

    def process_request_thread(self, request, client_address) -> None:  # noqa: ANN001
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        exc = sys.exc_info()[1]
        if isinstance(exc, _QUIET):
            return  # the client went away or was too slow: nothing to report
        log.warning("http: request from %s failed: %s: %s", client_address[0],
                    type(exc).__name__, exc)


class GuardedHandler(BaseHTTPRequestHandler):
    """Request handler that enforces the server's timeouts and never logs to stderr."""

    server: GuardedServer
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout_s  # socket timeout on every read and write
        super().setup()

    def handle_one_request(self) -> None:
        # A slow client sending one header byte at a time never trips the socket timeout:
        # this deadline on the whole request head does.
        self.server.arm(self.connection)
        try:
            super().handle_one_request()
        except _QUIET:
            self.close_connection = True
        finally:
            self.server.disarm(self.connection)

    def parse_request(self) -> bool:
        ok = super().parse_request()  # reads the headers
        self.server.disarm(self.connection)  # a long answer (event stream) may take its time
        return ok

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet by design
        return


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name part of a Host header (``[::1]:8080`` -> ``::1``, ``a.b:80`` -> ``a.b``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def host_allowed(header: str | None, names: Iterable[str] = ()) -> bool:
    """Whether a request's Host header names this server and not a rebinding attacker.

    Allowed: loopback names, IP literals (nobody can rebind a literal address), and the
    ``names`` the operator gave. A page loaded from ``attacker.example`` that resolves to
    127.0.0.1 still sends ``Host: attacker.example``, which is refused.
    """
    if not header:
        return False
    host = _host_name(header)
    if is_loopback(host):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host.rstrip(".") in {n.lower().rstrip(".") for n in names}


def request_token(handler: BaseHTTPRequestHandler) -> str | None:
    """The bearer token of a request: ``Authorization: Bearer`` or the page's cookie."""
    auth = handler.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    for part in handler.headers.get("Cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == TOKEN_COOKIE:
            return value
    return None


def token_ok(given: str | None, expected: str | None) -> bool:
    """True when no token is required, or ``given`` equals it (in constant time)."""
    if not expected:
        return True
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
