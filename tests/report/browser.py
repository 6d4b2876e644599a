"""A real headless browser for the HTML report's tests: Debian's Chromium driven over the Chrome
DevTools Protocol (CDP) with ``websocket-client`` — no Playwright, nothing downloaded.

``headless_chromium()`` starts one browser with a throw-away profile, every host name unresolvable
and an HTTP proxy that is a loopback socket the test owns: a request that somehow left the page
would reach that socket (``Browser.proxy_connections``) instead of the network. ``Browser.open``
loads a file in a fresh tab and records every network request, console message, log entry and
uncaught exception the page produces.

Tests that need Chromium skip with the reason when it is missing, and fail instead under
``FAIRGATE_REQUIRE_SHARED_DATA=1`` (CI), like the tests that need the shared data or Java.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import unavailable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
START_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0


def chromium_path() -> str:
    """The Chromium binary; skip (or, in CI, fail) when there is none."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    reason = "needs a Chromium binary (Debian: apt-get install chromium) for the browser tests of the HTML report"
    unavailable(reason)


def websocket_module() -> Any:
    try:
        import websocket
    except ImportError:
        reason = "needs websocket-client (pip install -e '.[test]') to drive Chromium over CDP"
        unavailable(reason)
    return websocket


class _Sink:
    """A loopback TCP listener used as the browser's proxy: it counts whoever connects."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.socket.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.5)
                try:
                    self.connections.append(conn.recv(200))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.socket.close()


class Page:
    """One tab, attached over the browser's single websocket (a flattened CDP session)."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, session=self.session, **params)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (CDP runs it whatever the page's CSP)."""
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise AssertionError(f"page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def viewport(self, width: int, height: int = 900, *, dark: bool = False) -> None:
        """A phone-like (``mobile``, honouring the viewport meta) or desktop viewport, light or dark."""
        self.call(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=width < 600
        )
        scheme = "dark" if dark else "light"
        self.call(
            "Emulation.setEmulatedMedia", media="screen", features=[{"name": "prefers-color-scheme", "value": scheme}]
        )
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def screenshot(self, path: Path) -> bytes:
        """A PNG of the viewport as it is now."""
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(data)
        return data

    def press(self, key: str, code: str, key_code: int, text: str) -> None:
        """A real key press (down with its text, then up) to whatever has the focus."""
        key_event = {"key": key, "code": code, "windowsVirtualKeyCode": key_code}
        self.call("Input.dispatchKeyEvent", type="keyDown", text=text, **key_event)
        self.call("Input.dispatchKeyEvent", type="keyUp", **key_event)

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def problems(self) -> list[str]:
        """Console errors, log entries of level error (CSP violations among them) and uncaught exceptions."""
        found = []
        for e in self.events:
            p = e["params"]
            if e["method"] == "Runtime.exceptionThrown":
                found.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                found.append(f"log {p['entry']['source']}: {p['entry']['text']}")
            elif e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning", "assert"):
                found.append(f"console: {p['args']}")
        return found


class Browser:
    """One headless Chromium process and the CDP websocket to it."""

    def __init__(self, ws: Any, process: subprocess.Popen[bytes], sink: _Sink) -> None:
        self.ws = ws
        self.process = process
        self.sink = sink
        self._next = 0
        self._pages: dict[str, Page] = {}

    @property
    def proxy_connections(self) -> list[bytes]:
        return list(self.sink.connections)

    def call(self, method: str, *, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + CALL_TIMEOUT
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise AssertionError(f"CDP {method} failed: {reply['error']}")
                return reply.get("result", {})
            page = self._pages.get(reply.get("sessionId", ""))
            if page is not None and "method" in reply:
                page.events.append(reply)
        raise TimeoutError(f"no reply to CDP {method} within {CALL_TIMEOUT} s")

    def open(self, path: Path, *, width: int = 1280, height: int = 900) -> Page:
        """Load ``path`` in a new tab (events recorded from before the navigation) and wait for it."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        self._pages[session] = page
        for domain in ("Page", "Network", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.viewport(width, height)
        page.call("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + CALL_TIMEOUT
        while not any(e["method"] == "Page.loadEventFired" for e in page.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not load within {CALL_TIMEOUT} s")
            page.evaluate("1")  # pumps the event stream
        return page


@contextlib.contextmanager
def headless_chromium() -> Iterator[Browser]:
    """A headless Chromium that can reach no host (a test-owned proxy socket catches any attempt)."""
    binary = chromium_path()
    websocket = websocket_module()
    sink = _Sink()
    with tempfile.TemporaryDirectory(prefix="fairgate-chromium-") as profile:
        process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-client-side-phishing-detection",
                "--disable-domain-reliability",
                "--disable-default-apps",
                "--no-pings",
                "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
                "AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
                "--metrics-recording-only",
                "--hide-scrollbars",
                "--force-color-profile=srgb",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                f"--proxy-server=http://127.0.0.1:{sink.port}",
                "--proxy-bypass-list=<-loopback>",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + START_TIMEOUT
            while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Chromium did not start (exit code {process.poll()})")
                time.sleep(0.05)
            port, path = port_file.read_text().splitlines()[:2]
            ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=CALL_TIMEOUT, suppress_origin=True)
            try:
                yield Browser(ws, process, sink)
            finally:
                ws.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            sink.close()
