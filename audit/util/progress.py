"""Progress on a terminal, silence elsewhere.

Long audits show what they are doing (loading, predicting, counting, rendering, signing) with
rich's spinner and elapsed time — but only when stderr is a terminal and ``CI`` is not set, so
logs in release pipelines stay clean and free of ANSI codes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager

Step = Callable[[str], ContextManager[None]]


def interactive() -> bool:
    """True on a real terminal outside CI (where colour and progress are welcome)."""
    return sys.stderr.isatty() and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


def styled_stdout() -> bool:
    """True when the summary goes to that terminal too (not ``| tee log``): then it is a coloured table."""
    return interactive() and sys.stdout.isatty()


@contextlib.contextmanager
def silent(_: str) -> Iterator[None]:
    yield


def make_step(*, quiet: bool, verbose: bool) -> tuple[Step, Callable[[], None]]:
    """A ``step(description)`` context manager and a ``close()`` for the whole command."""
    if quiet:
        return silent, lambda: None
    if interactive():
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        # On stderr, the stream checked above: stdout carries the summary (and --json's results.json), and
        # must not get the display's cursor movements when it is a pipe.
        bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=not verbose,
        )
        bar.start()

        @contextlib.contextmanager
        def rich_step(description: str) -> Iterator[None]:
            task = bar.add_task(description, total=1)
            try:
                yield
            finally:
                bar.update(task, completed=1)

        def close() -> None:
            """Stop the display and (unless --verbose) erase it, once: the summary printed after it stays
            on the screen whatever runs later (the command's own ``finally`` calls this again)."""
            if bar.live.is_started:
                bar.stop()

        return rich_step, close
    if verbose:

        @contextlib.contextmanager
        def timed_step(description: str) -> Iterator[None]:
            start = time.perf_counter()
            yield
            print(f"{description}: {time.perf_counter() - start:.2f} s", file=sys.stderr)

        return timed_step, lambda: None
    return silent, lambda: None


def make_counter(total: int, description: str, *, quiet: bool) -> tuple[Callable[[int], None], Callable[[], None]]:
    """An ``advance(n)`` for work counted in units (requests sent) and a ``close()``: a rich progress bar on
    a terminal, nothing elsewhere (or when ``quiet``)."""
    if quiet or not interactive() or total <= 0:
        return (lambda n: None), (lambda: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    bar.start()
    task = bar.add_task(description, total=total)
    return (lambda n: bar.advance(task, n)), bar.stop
