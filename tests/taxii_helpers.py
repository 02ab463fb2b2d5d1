"""Run `grotius serve` as a real process on 127.0.0.1, and STIX test objects."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TAXII = "application/taxii+json;version=2.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """`grotius serve --home HOME` in a subprocess; retries on the rare port clash."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self, timeout: float = 60.0) -> str:
        for _attempt in range(5):
            port = free_port()
            env = dict(os.environ)
            env.pop("GROTIUS_DATABASE_URL", None)
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "grotius"), "serve", "--home", str(self.home),
                 "--host", "127.0.0.1", "--port", str(port)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
            self.base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    httpx.get(self.base_url + "/taxii2/", timeout=1.0)
                    return self.base_url
                except httpx.TransportError:
                    time.sleep(0.1)
            err = self._stop()
            if "address already in use" not in err.lower():
                raise RuntimeError(f"grotius serve did not start: {err[-2000:]}")
        raise RuntimeError("grotius serve could not find a free port")

    def _stop(self) -> str:
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        self.proc = None
        return err

    def stop(self) -> None:
        self._stop()


def sid(kind: str) -> str:
    return f"{kind}--{uuid.uuid4()}"


def indicator(i: int, *, tlp: str | None = None, modified: str = "2026-01-01T00:00:00.000Z",
              oid: str | None = None, **extra: Any) -> dict[str, Any]:
    o: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": oid or sid("indicator"),
        "created": "2026-01-01T00:00:00.000Z", "modified": modified,
        "name": f"C2 address {i}", "pattern": f"[ipv4-addr:value = '203.0.113.{i % 250}']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    }
    if tlp:
        o["object_marking_refs"] = [TLP[tlp]]
    o.update(extra)
    return o
