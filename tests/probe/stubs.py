"""Stub screeners for the probe's tests: in-process callables and HTTP servers on 127.0.0.1 only.

Each screener scores a profile from its years of experience plus noise that depends only on the profile
(so a profile's variants get the same noise) and, when biased, lowers the score of one name group.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Names the biased screener penalises: the built-in table's most frequent Black first names start with these.
PENALISED: set[str] = set()
PENALTY = 0.0
NOISE = 1.0
DRAW = 0


def _noise(key: str, salt: str = "") -> float:
    digest = hashlib.sha256(f"{DRAW}:{salt}:{key}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") / 2**64 - 0.5) * 2 * NOISE


def score(record: dict[str, str], *, penalised: set[str] | None = None, penalty: float | None = None) -> float:
    years = float(record.get("years", "0") or 0)
    base = 5 + 0.5 * years + _noise(record.get("resume", ""))
    name_noise = _noise(record.get("first_name", ""), "name") * 0.5  # the name itself moves the score a little
    hit = record.get("first_name", "") in (PENALISED if penalised is None else penalised)
    return round(base + name_noise - (PENALTY if penalty is None else penalty) * hit, 6)


def unbiased(record: dict[str, str]) -> float:
    return score(record, penalised=set(), penalty=0.0)


def biased(record: dict[str, str]) -> float:
    return score(record)


def selects(record: dict[str, str]) -> bool:
    return score(record) >= 8


@contextmanager
def serve(handler: Callable[[str, dict[str, Any], dict[str, str]], tuple[int, Any, dict[str, str]]]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (a free port) answering POSTs with ``handler(path, body, headers)`` →
    (status, JSON-able body or raw text, headers); yields its base URL, stops on exit."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            status, reply, headers = handler(self.path, body, dict(self.headers))
            data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def slow(seconds: float) -> None:
    time.sleep(seconds)
