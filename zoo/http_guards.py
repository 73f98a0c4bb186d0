"""What a connection and a request may do, in front of the app: a body's size and time (`BodyLimits`), the origins
and host names answered (`SameOrigin`), and the header and unread-answer timeouts uvicorn's HTTP/1.1 protocol lacks
(`TimedH11`)."""

import asyncio
import urllib.parse

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from zoo.cluster import is_loopback
from zoo.request_parsing import RequestError
from zoo.wire_format import error_response


class BodyLimits:
    """ASGI middleware: a request body over `max_bytes` (by its Content-Length, or as it streams in) gets a 413, and
    one not complete `timeout_s` after the request's headers a 408. An answer given before the body is all in (these,
    a refusal, an unknown model) closes the connection: it could carry no further request, and uvicorn would
    otherwise read the rest of the body, at the client's pace, with no timeout."""

    def __init__(self, app, max_bytes, timeout_s):
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = f"the request body is over the server's limit of {self.max_bytes // 2**20} MB (--max-body-mb)"
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        received, complete = 0, length in (None, b"0") and b"transfer-encoding" not in headers

        async def closing_send(message):
            if message["type"] == "http.response.start" and not complete:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        async def limited_receive():
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    event = await receive()
            except TimeoutError:
                raise RequestError(f"the request body did not arrive within {self.timeout_s:g} s (--body-timeout-s)",
                                   status=408) from None
            received += len(event.get("body", b""))
            complete = not event.get("more_body", False)
            if received > self.max_bytes:
                raise RequestError(too_large, status=413)
            return event

        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await error_response(too_large, 413)(scope, receive, closing_send)
        return await self.app(scope, limited_receive, closing_send)


class SameOrigin:
    """ASGI middleware against cross-site requests: a request carrying an Origin header (as a browser sends it from
    a page) that is neither the server's own origin (http://<its Host header>) nor one of `allowed_origins` gets a
    403, `Origin: null` too; requests without one (TF Serving clients, curl) pass. With `loopback_only` (a server
    bound to loopback), a Host header that does not name this machine gets a 403 as well: a page whose domain
    resolves to 127.0.0.1 (DNS rebinding) would otherwise be the server's own origin."""

    def __init__(self, app, allowed_origins=(), loopback_only=False):
        self.app, self.allowed_origins, self.loopback_only = app, set(allowed_origins), loopback_only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {name: value.decode("latin-1") for name, value in scope["headers"]}
        host, origin = headers.get(b"host", ""), headers.get(b"origin")
        own = f"{scope['scheme']}://{host}"
        if self.loopback_only and not is_loopback(host_name(host)):
            refusal = (f"a request for host {host!r} refused: a server bound to loopback answers requests for "
                       "localhost, 127.0.0.1 or [::1] only")
        elif origin is not None and origin not in {own, *self.allowed_origins}:
            refusal = (f"a request from a page of origin {origin!r} refused: the server answers pages of its own "
                       f"origin ({own}) and of the origins given to --allow-origin "
                       f"({', '.join(sorted(self.allowed_origins)) or 'none'})")
        else:
            return await self.app(scope, receive, send)
        return await error_response(refusal, 403)(scope, receive, send)


def host_name(host):
    """The name or address of a Host header ("::1" from "[::1]:8501"); "" if it is malformed."""
    try:
        return urllib.parse.urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return ""


class TimedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol (h11) with the two timeouts it lacks. It closes a connection whose request line
    and headers are not complete `header_timeout_s` after it opened, or after the first byte of its next request.
    And it drops one whose client reads nothing of its answer for a keep-alive period (a slow reader must keep
    reading): uvicorn would keep the connection, the unsent answer and any answer queued behind it for as long as
    the client does not read. (BodyLimits bounds the request body.)"""

    def __init__(self, *args, header_timeout_s, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout_s, self.header_timer, self.unsent_timer = header_timeout_s, None, None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.header_timer = self.loop.call_later(self.header_timeout_s, transport.close)

    def data_received(self, data):
        if self.header_timer is None and self.conn.their_state is h11.IDLE:
            self.header_timer = self.loop.call_later(self.header_timeout_s, self.transport.close)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self.stop_header_timer()

    def connection_lost(self, exc):
        self.stop_header_timer()
        if self.unsent_timer is not None:
            self.unsent_timer.cancel()
        super().connection_lost(exc)

    def stop_header_timer(self):
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def pause_writing(self):  # the transport holds more unsent answer than its high-water mark
        super().pause_writing()
        self.watch_unsent()

    def timeout_keep_alive_handler(self):
        super().timeout_keep_alive_handler()  # closes the connection once all is sent
        self.watch_unsent()

    def watch_unsent(self):
        unsent = self.transport.get_write_buffer_size()
        if self.unsent_timer is None and unsent:
            self.unsent_timer = self.loop.call_later(self.timeout_keep_alive, self.check_unsent, unsent)

    def check_unsent(self, before):
        self.unsent_timer = None
        if self.transport.get_write_buffer_size() == before:  # not a byte read in a keep-alive period
            self.transport.abort()
        else:
            self.watch_unsent()


