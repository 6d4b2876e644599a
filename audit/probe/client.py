"""Send what the cache lacks, as a good client: bounded concurrency, timeouts, retries, a budget.

At most ``concurrency`` requests are in flight (a thread pool of that size). A 429, a 5xx, a timeout or a
dropped connection is retried up to ``retries`` times after an exponential backoff (``backoff`` × 2^attempt
seconds, capped at ``max_wait``), or after the server's ``Retry-After`` when it sends one (capped too).
Every attempt counts against ``budget``; when it is spent the probe stops with what it has cached. Each
response is cached the moment it arrives, so an interrupted probe resumes where it stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from audit.probe.adapters import Adapter, Retryable, ServiceError
from audit.probe.cache import Cache


@dataclass(frozen=True)
class Pending:
    key: str
    request: dict[str, Any]


@dataclass(frozen=True)
class ClientSettings:
    concurrency: int = 4
    timeout: float = 30.0
    retries: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0
    budget: int = 1000


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.lock = threading.Lock()

    def take(self) -> None:
        with self.lock:
            if self.used >= self.limit:
                raise ServiceError(
                    f"the request budget (--max-requests {self.limit}) is spent, retries included",
                    hint="the responses so far are cached: run the same command with a larger --max-requests to go on",
                )
            self.used += 1


def send_all(
    pending: Sequence[Pending],
    adapter: Adapter,
    cache: Cache,
    settings: ClientSettings,
    *,
    advance: Callable[[int], None] = lambda n: None,
) -> int:
    """Send every pending request and cache its response; the number of attempts made."""
    budget = _Budget(settings.budget)
    stop = threading.Event()

    def one(item: Pending) -> None:
        for attempt in range(settings.retries + 1):
            if stop.is_set():
                return
            budget.take()
            try:
                response = adapter.send(item.request, timeout=settings.timeout)
            except Retryable as exc:
                if attempt == settings.retries:
                    raise ServiceError(
                        f"{item.request.get('url') or item.request.get('function')}: {exc} "
                        f"({settings.retries + 1} attempts)",
                        hint="the service keeps failing: the responses so far are cached, run the same command "
                        "later to go on (or raise --timeout / --retries)",
                    ) from None
                wait_for = exc.retry_after if exc.retry_after is not None else settings.backoff * 2**attempt
                if stop.wait(min(wait_for, settings.max_wait)):  # an interrupt or a failure elsewhere ends the wait
                    return
                continue
            cache.put(item.key, item.request, response)
            advance(1)
            return

    if not pending:
        return 0
    pool = ThreadPoolExecutor(max_workers=max(1, settings.concurrency), thread_name_prefix="fairgate-probe")
    try:
        futures = [pool.submit(one, item) for item in pending]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                stop.set()
                raise future.exception()  # type: ignore[misc]  # checked just above: not None
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)  # the requests in flight finish and are cached
        raise
    pool.shutdown(wait=True)
    return budget.used
