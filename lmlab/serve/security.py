"""The guard in front of every request of ``lmlab serve``: a server that loads models and starts trainings is an
attack surface even on 127.0.0.1 (any web page the user visits can send requests to it), so each request must

1. name this server in its ``Host`` header (``localhost``, ``127.0.0.1``, ``[::1]`` or the bound address):
   a DNS-rebinding page's requests name its own host;
2. carry the token: ``Authorization: Bearer TOKEN`` (scripts), or the cookie that opening the start-up URL
   (``/?token=TOKEN``, as Jupyter prints) sets (the page);
3. for a ``POST``: send JSON, and an ``Origin`` equal to the server's own when there is one (a browser always sends
   it; a cookie alone is not enough without it, so another site's form cannot use the user's cookie);
4. send at most :data:`MAX_BODY` bytes, counted as they arrive (a ``Content-Length`` is checked before anything is
   read, and a body without one is cut off at the limit).

Every response carries ``Content-Security-Policy: default-src 'self'`` (no script, style, font or image from
another host, no inline script), ``X-Content-Type-Options: nosniff`` and ``frame-ancestors 'none'``; no CORS header
is ever sent. Refusals are JSON: ``{"error": "one line"}`` with 400, 401, 403 or 413.
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: the largest request body: an uploaded image (base64) with room to spare
MAX_BODY = 8 << 20
COOKIE = "lmlab_token"
LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]

#: lmlab compare's report.html keeps its style inline: its files may use inline style (never inline script)
REPORT_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
    *SECURITY_HEADERS[1:],
]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _host_name(host: str) -> str:
    """``127.0.0.1:8000`` -> ``127.0.0.1``; ``[::1]:8000`` -> ``[::1]``."""
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cookie(scope: dict[str, Any]) -> str | None:
    raw = _header(scope, b"cookie") or ""
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


async def _send_json(send: Any, status: int, body: dict[str, Any], extra: list | None = None) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + SECURITY_HEADERS + (extra or [])})
    await send({"type": "http.response.body", "body": data})


class Guard:
    """ASGI middleware: the checks of the module docstring, then the app, with the security headers added."""

    def __init__(self, app: Any, token: str, bound_host: str):
        self.app = app
        self.token = token
        self.allowed_hosts = {*LOCAL_NAMES, bound_host, f"[{bound_host}]"}

    def _authorised(self, scope: dict[str, Any]) -> tuple[bool, bool]:
        """(has the token, came by the Authorization header)."""
        auth = _header(scope, b"authorization") or ""
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), self.token.encode()):
            return True, True
        cookie = _cookie(scope)
        if cookie is not None and hmac.compare_digest(cookie.encode(), self.token.encode()):
            return True, False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        if scope.get("method") == "GET" and scope.get("path") == "/" and query:
            return hmac.compare_digest(query[0].encode(), self.token.encode()), False
        return False, False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if host is None or _host_name(host).lower() not in self.allowed_hosts:
            await _send_json(send, 400, {"error": f"Host {host!r} is not this server (use 127.0.0.1 or localhost)"})
            return
        authorised, by_header = self._authorised(scope)
        if not authorised:
            await _send_json(
                send,
                401,
                {
                    "error": "missing or wrong token: open the URL lmlab serve printed, or send "
                    "'Authorization: Bearer TOKEN'"
                },  # fmt: skip
            )
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD", "POST"):
            await _send_json(send, 405, {"error": f"method {method} is not allowed"})
            return
        if method == "POST":
            origin = _header(scope, b"origin")
            if origin is not None:
                parts = urlsplit(origin)
                if parts.scheme != "http" or parts.netloc.lower() != host.lower():
                    await _send_json(send, 403, {"error": f"Origin {origin!r} is not this server's"})
                    return
            elif not by_header:  # a cookie with no Origin: not the page, so it must say who it is
                await _send_json(send, 403, {"error": "a POST needs the page's Origin or an Authorization header"})
                return
            kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if kind != "application/json":
                await _send_json(send, 415, {"error": "send the request body as JSON (Content-Type: application/json)"})
                return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await _send_json(send, 413, {"error": f"the request body is larger than {MAX_BODY:,} bytes"})
            return

        received = 0
        too_large = False
        answered = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:  # no more is read: the app sees the client leave
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        headers = REPORT_HEADERS if scope.get("path", "").startswith("/reports/") else SECURITY_HEADERS

        async def secured_send(message: dict[str, Any]) -> None:
            nonlocal answered
            if too_large:  # whatever the app answers to a body it could not read, the answer is 413
                if not answered:
                    answered = True
                    await _send_json(send, 413, {"error": f"the request body is larger than {MAX_BODY:,} bytes"})
                return
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        try:
            await self.app(scope, limited_receive, secured_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not answered:
            await _send_json(send, 413, {"error": f"the request body is larger than {MAX_BODY:,} bytes"})


__all__ = ["COOKIE", "Guard", "MAX_BODY"]
