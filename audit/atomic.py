"""Write outputs so that a reader never sees half a file, nor half of a set of files.

Every output is written to a temporary file in the destination's own directory (so the final
``os.replace`` is an atomic rename on the same filesystem) and moved into place only when it is
complete. On any failure the temporary file is removed and an existing file is left untouched.

Several outputs that belong together (results.json, summary.md, report.pdf) are renamed one after
the other once *all* of them are complete, with SIGINT and SIGTERM held back during those few
renames: Ctrl-C then leaves either the previous set or the new one, never a mix, and is acted on
right after. (SIGKILL cannot be held back: a killed run may leave a hidden ``.<name>.*.tmp`` file,
never a truncated file under a final name.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from audit.errors import InputError

#: Signals whose delivery waits until a set of renames is complete.
_HELD = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


def temporary_beside(destination: Path) -> Path:
    """A new empty hidden file in ``destination``'s directory (created when missing)."""
    directory = destination.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        blocker = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file, not a directory" if blocker is not None else exc.strerror or str(exc)
        raise InputError(
            f"{directory}: cannot write output here ({reason})",
            hint="choose a directory you can write to",
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; outputs are reports meant to be shared, so honour the umask instead
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


@contextlib.contextmanager
def atomic_path(destination: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; rename it into place on success."""
    with atomic_paths([Path(destination)]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(destinations: Sequence[Path]) -> Iterator[list[Path]]:
    """Yield one temporary path per destination; rename them all into place once the block succeeds."""
    temps: list[Path] = []
    try:
        # a Ctrl-C between creating a temporary file and remembering it would orphan that file
        with held_signals():
            for destination in destinations:
                temps.append(temporary_beside(Path(destination)))
        yield temps
        with held_signals():
            for tmp, destination in zip(temps, destinations, strict=True):
                os.replace(tmp, destination)
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM for the duration; a signal that arrived is re-raised right after.

    Python runs signal handlers in the main thread whichever thread the signal reached, so the
    handlers are swapped for ones that only take note (blocking the signal with pthread_sigmask
    would not do: the kernel hands a process-wide signal to any thread that does not block it).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: arrived.append(number)) for sig in _HELD}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for sig in dict.fromkeys(arrived):
            signal.raise_signal(sig)  # now handled as it would have been (KeyboardInterrupt, exit)


def write_bytes(destination: Path, data: bytes) -> None:
    with atomic_path(destination) as tmp:
        tmp.write_bytes(data)
