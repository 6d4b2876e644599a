"""Stub screeners for the probe's tests: in-process callables and HTTP servers on 127.0.0.1 only.

A screener scores a profile from its years of experience, plus noise drawn afresh for every request
(keyed by the whole request and ``DRAW``, so a run is reproducible and the noise is exchangeable between
the variants of a profile). The biased one takes ``PENALTY`` off when the first name signals Black in the
shipped table (P(black | first name) >= 0.8): the built-in design's Black names, and only those.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PENALTY = 1.0
NOISE = 1.0
DRAW = 0
CALLS: list[dict[str, str]] = []
#: Raise KeyboardInterrupt on this call (counted from 1), as Ctrl-C during a probe would; 0: never.
INTERRUPT_AT = 0


@functools.cache
def black_names() -> frozenset[str]:
    from audit.inputs.proxy import RACES, shipped_table

    table = shipped_table("prob_race_given_first_name_harvard")
    k = RACES.index("black")
    return frozenset(str(n).title() for n in table.index[table.values[:, k] >= 0.8])


def _noise(record: dict[str, str]) -> float:
    text = json.dumps(record, sort_keys=True)
    digest = hashlib.sha256(f"{DRAW}:{text}".encode()).digest()
    u1 = (int.from_bytes(digest[:8], "big") + 1) / (2**64 + 2)
    u2 = (int.from_bytes(digest[8:16], "big") + 1) / (2**64 + 2)
    import math

    return NOISE * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)  # Box–Muller: normal noise


def score(record: dict[str, str], *, biased: bool) -> float:
    years = float(record.get("years", "0") or 0)
    penalty = PENALTY if biased and record.get("first_name", "") in black_names() else 0.0
    return round(5 + 0.5 * years + _noise(record) - penalty, 6)


def unbiased(record: dict[str, str]) -> float:
    return score(record, biased=False)


def biased(record: dict[str, str]) -> float:
    return score(record, biased=True)


def counted(record: dict[str, str]) -> float:
    """The unbiased screener, counting its calls and interrupted at call ``INTERRUPT_AT``."""
    CALLS.append(record)
    if INTERRUPT_AT and len(CALLS) == INTERRUPT_AT:
        raise KeyboardInterrupt
    return unbiased(record)


Handler = Callable[[str, Any, dict[str, str]], tuple[int, Any, dict[str, str]]]


@contextmanager
def serve(handler: Handler) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (a free port) answering POSTs with ``handler(path, body, headers)`` →
    (status, JSON-able body or raw text, headers); yields its base URL, stops on exit."""

    class RequestHandler(BaseHTTPRequestHandler):
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
