"""Fixtures for the data tests: the shared real datasets, and a local HTTP server to download from."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA  # noqa: E402,F401  (re-exported for the data tests)


@dataclass
class Server:
    """A static file server on 127.0.0.1: ``url`` serves the files under ``root``.

    ``url + "/cut/<path>"`` announces the full Content-Length of ``<path>`` and then closes after half the
    bytes, the way a dropped connection looks to the client. ``url + "/endless/<path>"`` sends ``<path>``'s bytes
    again and again with no Content-Length, until the client hangs up (or 1 GiB has gone, so that a client that
    never stops cannot keep the thread forever). ``requests`` records every path asked for.
    """

    url: str
    root: Path
    requests: list[str] = field(default_factory=list)


class _Handler(http.server.SimpleHTTPRequestHandler):
    server_state: Server

    def do_GET(self) -> None:
        self.server_state.requests.append(self.path)
        if self.path.startswith("/cut/"):
            data = (self.server_state.root / self.path.removeprefix("/cut/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith("/endless/"):
            data = (self.server_state.root / self.path.removeprefix("/endless/")).read_bytes()
            self.send_response(200)
            self.end_headers()  # no Content-Length: the body ends when the connection does
            try:
                for _ in range(2**30 // len(data)):
                    self.wfile.write(data)
            except ConnectionError:  # a broken pipe or a reset: the client stopped reading, as it should
                pass
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    state = Server(url="", root=root)
    handler = type("Handler", (_Handler,), {"server_state": state})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
