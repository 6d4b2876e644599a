"""Write outputs so that a reader never sees half a file, nor half of a set of files.

Every output is written to a temporary file in the destination's own directory (so the final
``os.replace`` is an atomic rename on the same filesystem) and moved into place only when it is
complete. On any failure the temporary file is removed and an existing file is left untouched.

Several outputs that belong together (results.json, summary.md, report.pdf) are renamed one after
the other once *all* of them are complete, with SIGINT and SIGTERM held back during those few
renames: Ctrl-C then leaves either the previous set or the new one, never a mix, and is acted on
right after. (SIGKILL cannot be held back: a killed run may leave a hidden ``.<name>.*.tmp`` file,
never a truncated file under a final name.)

The renames are a transaction: before any file is replaced, each existing destination is kept
under a hidden backup name (a hard link, so the destination never disappears); if a rename fails
(an immutable file, a full disk, a read-only name), the ones already made are rolled back from
the backups and the run stops with a one-line error naming the file — the directory keeps the
complete previous set. ``output_lock`` keeps two runs from writing the same directory at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from glob import escape as glob_escape
from pathlib import Path

from audit.errors import InputError, UsageError

#: Signals whose delivery waits until a set of renames is complete (the ones the CLI turns into an
#: interrupt: Ctrl-C, a CI cancellation or ``timeout``, a closed terminal).
_HELD = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
#: The lock file a run holds in its output directory (removed when the run ends).
LOCK_NAME = ".fairgate.lock"
#: Output directories this process holds (real paths).
_LOCKED: set[str] = set()


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
def atomic_paths(destinations: Sequence[Path], *, remove: Sequence[Path] = ()) -> Iterator[list[Path]]:
    """Yield one temporary path per destination; once the block succeeds, rename them all into
    place and delete ``remove`` (stale files that would disagree with the new set) — all or nothing."""
    destinations = [Path(d) for d in destinations]
    temps: list[Path] = []
    try:
        # a Ctrl-C between creating a temporary file and remembering it would orphan that file
        with held_signals():
            for destination in destinations:
                temps.append(temporary_beside(destination))
        try:
            yield temps
        except OSError as exc:  # writing a temporary file failed (a full disk, a quota): name the output
            written = dict(zip(map(str, temps), destinations, strict=True))
            if str(exc.filename) in written:
                raise _refused(written[str(exc.filename)], exc) from exc
            raise
        with held_signals():
            _publish(
                list(zip(temps, destinations, strict=True)),
                [Path(r) for r in remove if Path(r).exists() or Path(r).is_symlink()],
            )
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


def _publish(pairs: list[tuple[Path, Path]], stale: list[Path]) -> None:
    """Rename every temporary file onto its destination and delete the stale files, or change nothing.

    Each destination that exists is first kept under a hidden backup (a hard link, else a copy);
    on a failure, what was already replaced or deleted is put back from the backups."""
    backups: dict[Path, Path | None] = {}
    done: list[Path] = []
    current = pairs[0][1] if pairs else (stale[0] if stale else Path("."))
    try:
        for current in [d for _, d in pairs] + stale:
            backups[current] = _backup(current) if current.exists() or current.is_symlink() else None
        for tmp, current in pairs:
            os.replace(tmp, current)
            done.append(current)
        for current in stale:
            os.unlink(current)
            done.append(current)
    except OSError as exc:
        for path in reversed(done):  # roll back: the previous set, as it was
            backup = backups.get(path)
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                else:
                    os.unlink(path)
        raise _refused(current, exc) from exc
    finally:
        for backup in backups.values():
            if backup is not None:
                with contextlib.suppress(FileNotFoundError):
                    backup.unlink()


def _backup(path: Path) -> Path:
    """A hidden second name for ``path`` in its directory: a hard link, else a copy."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".bak.tmp", dir=path.parent)
    os.close(fd)
    backup = Path(name)
    backup.unlink()
    try:
        os.link(path, backup, follow_symlinks=False)
    except OSError:
        try:
            shutil.copy2(path, backup, follow_symlinks=False)
        except OSError:
            with contextlib.suppress(FileNotFoundError):
                backup.unlink()
            raise
    return backup


def _refused(path: Path, exc: OSError) -> InputError:
    reason = exc.strerror or type(exc).__name__
    return InputError(
        f"{path}: cannot write this output ({reason}); nothing was changed in {path.parent}",
        hint="check the file's permissions and attributes (an immutable or read-only file, "
        "a full disk), or choose another --out",
    )


@contextlib.contextmanager
def output_lock(directory: Path, *, names: Sequence[str] = ()) -> Iterator[None]:
    """Hold ``directory`` for one run: a second run into it stops at once (exit 2, naming this
    process). The directory is created when missing, and removed again when the run fails before
    writing anything into it. The lock is the kernel's (flock), so a killed run never leaves the
    directory locked; its lock file is removed when the run ends. Hidden temporary files of the
    outputs ``names`` that a killed run (SIGKILL, a power cut) left behind are removed once held."""
    directory = Path(directory)
    key = os.path.realpath(directory)
    if key in _LOCKED:  # this process already holds it (the CLI for the whole run, then the writer)
        yield
        return
    created = _make_directories(directory)
    lock = directory / LOCK_NAME
    fd: int | None = None
    completed = False
    try:
        fd = _acquire(lock, directory)
        _LOCKED.add(key)
        for name in names:  # nobody else writes here now: what a killed run left is garbage
            for leftover in directory.glob(f".{glob_escape(name)}.*.tmp"):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        yield
        completed = True
    finally:
        _LOCKED.discard(key)
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            os.close(fd)
        if not completed:
            for made in reversed(created):  # deepest first; only while empty (nothing was written)
                with contextlib.suppress(OSError):
                    made.rmdir()


def _make_directories(directory: Path) -> list[Path]:
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file, not a directory" if blocker is not None else exc.strerror or str(exc)
        raise InputError(
            f"{directory}: cannot write output here ({reason})", hint="choose a directory you can write to"
        ) from exc
    return list(reversed(missing))


def _acquire(lock: Path, directory: Path) -> int | None:
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (the renames are still all or nothing)
        return None
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _refused(lock, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise UsageError(
                f"{directory}: another Fairgate run (process {holder}) is writing to this directory",
                hint="wait for it to finish, or give this run another --out",
            ) from None
        try:  # the file we locked may have been removed by the run that just finished: lock the new one
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


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
