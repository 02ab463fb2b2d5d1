"""Run a node's web app on a real socket (127.0.0.1, a free port) in a background thread.

Used by the ``live_server`` fixture; TAXII, correlation and matching tests reuse it.
The socket is bound before the thread starts (port 0 → the kernel picks a free port), so
parallel test workers never race for a port.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True, name=f"live-{self.port}"
        )

    def start(self, timeout: float = 30.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError(f"live server on port {self.port} did not start")
        return self.base_url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def start_live_server(node: Any, app: Any | None = None) -> LiveServer:
    """Serve ``create_app(node)`` (or a given app); returns the started server."""
    if app is None:
        from grotius.web.app import create_app

        app = create_app(node)
    srv = LiveServer(app)
    srv.start()
    return srv
