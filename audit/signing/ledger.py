"""The audit ledger: an append-only, hash-chained record of every run, sign and verify.

Compliance asks "show me every audit of this model". Each command that produces or checks
evidence appends one record (time, user, command, input hashes, policy, verdict, report hash,
signer) to a SQLite database. Every record stores the sha256 of its canonical JSON body *and of
the previous record's hash*, so editing a record breaks its own hash, deleting one breaks the link
of the next, and deleting the newest ones is caught by SQLite's AUTOINCREMENT high-water mark
(``sqlite_sequence``), which remembers the highest sequence number ever issued.

What the chain cannot stop: someone who rewrites the whole file (every hash after their edit)
can forge a consistent ledger — or simply delete the newest records and lower ``sqlite_sequence``
to match (a missing ``sqlite_sequence`` row is reported: a new ledger gets one at creation). So every
``run`` writes the head it found (sequence number and hash, :meth:`Ledger.head`) into its
results.json, and a signed report thereby anchors the ledger as it was; ``history --verify --against
REPORT`` checks that the ledger still holds that head and, after it, the audit's own record
(:meth:`Ledger.check_anchor`). ``history --verify`` also prints the head hash for anchoring elsewhere.

Concurrency: each append runs in a ``BEGIN IMMEDIATE`` transaction (SQLite's write lock), reads
the current head and inserts the next record, so parallel runs serialise and none is lost. An append
holds the lock for milliseconds, so a command waits at most ``_BUSY_TIMEOUT_S`` for it: a ledger
still locked after that is held by something else (an open SQLite browser, a stuck process), and the
command says so in seconds rather than hanging.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.errors import FairgateError

LEDGER_ENV = "FAIRGATE_LEDGER"
#: The hash a first record links to.
GENESIS = "0" * 64
_SCHEMA_VERSION = 1
_BUSY_TIMEOUT_S = 5.0
_LOCKED_HINT = (
    "wait for the other command to finish, or close the program that has the ledger open (a SQLite "
    "browser); --no-ledger runs without recording"
)
_TABLE = """
CREATE TABLE IF NOT EXISTS records (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL UNIQUE
)"""
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class LedgerError(FairgateError):
    """The ledger cannot be opened or written."""


@dataclass(frozen=True)
class Record:
    seq: int
    body: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    records: int
    head: str
    problems: tuple[str, ...]


def default_path() -> Path:
    """``$XDG_DATA_HOME/fairgate/ledger.sqlite`` (``~/.local/share/...`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fairgate" / "ledger.sqlite"


LEDGER_CREATE_HINT = (
    "check the path (a mistyped one would start a new, empty ledger); pass --ledger-create to create the directory"
)


def require_directory(path: Path) -> None:
    """A ledger path someone named (``--ledger``, ``$FAIRGATE_LEDGER``) must be in a directory that exists:
    the ledger is only useful if every audit lands in the same file, and a typo would silently start
    another one. ``--ledger-create`` lifts this (a first run), as does the default path."""
    parent = Path(path).parent
    if not parent.exists():  # (one that is a file: opening the ledger says so)
        raise LedgerError(f"{path}: the ledger's directory {parent} does not exist", hint=LEDGER_CREATE_HINT)


def record_hash(prev_hash: str, body_text: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body_text}".encode()).hexdigest()


def canonical(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


class Ledger:
    """An append-only ledger in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # --- opening -------------------------------------------------------------------------------

    def _locked(self, exc: sqlite3.Error) -> LedgerError | None:
        """SQLite's "database is locked" as a message naming the file and what holds it."""
        if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
            return None
        return LedgerError(
            f"{self.path}: the ledger is locked by another process (still locked after waiting {_BUSY_TIMEOUT_S:g} s)",
            hint=_LOCKED_HINT,
        )

    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        if self.path.is_dir():
            raise LedgerError(
                f"{self.path}: is a directory, not a ledger file",
                hint=f"name the SQLite file itself, e.g. {self.path / 'ledger.sqlite'}",
            )
        if not create and not self.path.is_file():
            raise LedgerError(
                f"{self.path}: no ledger here yet",
                hint="a ledger is created by the first `fairgate run` that writes to it",
            )
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LedgerError(
                    f"{self.path}: cannot create the ledger's directory ({exc.strerror})",
                    hint="name a ledger file in a writable directory, or pass --no-ledger",
                ) from None
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerError(
                f"{self.path}: cannot open the ledger ({exc})",
                hint="name a ledger file in a writable directory, or pass --no-ledger",
            ) from None
        with closing(conn):
            try:
                if create:
                    conn.execute(_TABLE)
                    conn.execute(_META)
                    # a new ledger's sequence counter exists from the start, so a deleted one is noticed
                    conn.execute(
                        "INSERT INTO sqlite_sequence (name, seq) SELECT 'records', 0 WHERE NOT EXISTS "
                        "(SELECT 1 FROM sqlite_sequence WHERE name = 'records') "
                        "AND NOT EXISTS (SELECT 1 FROM records) AND NOT EXISTS (SELECT 1 FROM meta)"
                    )
                    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(_SCHEMA_VERSION),))
                self._check_schema(conn)
                yield conn
            except sqlite3.DatabaseError as exc:
                raise self._locked(exc) or LedgerError(
                    f"{self.path}: not a usable Fairgate ledger ({exc})",
                    hint="name another ledger file (a new one is created), or pass --no-ledger",
                ) from None

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            locked = self._locked(exc)
            if locked is not None:
                raise locked from None
            row = None
        if row is None or row[0] != str(_SCHEMA_VERSION):
            raise LedgerError(
                f"{self.path}: not a Fairgate ledger (or a version this Fairgate does not know)",
                hint="name another ledger file (a new one is created), or pass --no-ledger",
            )

    def ensure_writable(self) -> None:
        """Create the ledger if needed and check it can be written, before any work is done."""
        with self._connect(create=True) as conn:
            self._check_counter(conn)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                raise self._locked(exc) or LedgerError(
                    f"{self.path}: the ledger cannot be written ({exc})",
                    hint="check the file's permissions, or pass --no-ledger",
                ) from None

    def _check_counter(self, conn: sqlite3.Connection) -> None:
        """Refuse to append to records whose sequence counter was deleted: SQLite would quietly recreate it."""
        missing = conn.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'records') "
            "AND EXISTS (SELECT 1 FROM records)"
        ).fetchone()[0]
        if missing:
            raise LedgerError(
                f"{self.path}: the ledger's sequence counter was deleted (records may have been removed)",
                hint="run `fairgate history --verify`, and restore the ledger from a copy you trust",
            )

    # --- writing -------------------------------------------------------------------------------

    def append(self, entry: Mapping[str, Any], *, now: dt.datetime | None = None) -> Record:
        """Append ``entry`` (JSON-able) as the next record; returns it with its hash."""
        moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
        with self._connect(create=True) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")  # the write lock: parallel appends queue here
                try:
                    self._check_counter(conn)
                    head = conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
                    prev = head[1] if head else GENESIS
                    body = {
                        **entry,
                        "time": moment.isoformat().replace("+00:00", "Z"),
                        "user": entry.get("user") or current_user(),
                    }
                    text = canonical(body)
                    digest = record_hash(prev, text)
                    cur = conn.execute(
                        "INSERT INTO records (body, prev_hash, hash) VALUES (?, ?, ?)", (text, prev, digest)
                    )
                    seq = int(cur.lastrowid or 0)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise self._locked(exc) or LedgerError(
                    f"{self.path}: cannot append to the ledger ({exc})",
                    hint="check the file's permissions and free disk space, or pass --no-ledger",
                ) from None
        return Record(seq, body, prev, digest)

    # --- reading -------------------------------------------------------------------------------

    def records(self) -> list[Record]:
        with self._connect(create=False) as conn:
            rows = conn.execute("SELECT seq, body, prev_hash, hash FROM records ORDER BY seq").fetchall()
        out = []
        for seq, text, prev, digest in rows:
            try:
                body = json.loads(text)
            except ValueError:
                body = {"unreadable": text[:200]}
            out.append(Record(int(seq), body if isinstance(body, dict) else {"unreadable": str(body)}, prev, digest))
        return out

    def head(self) -> dict[str, Any]:
        """The newest record's sequence number and hash (``{"seq": 0, "hash": GENESIS}`` when empty)."""
        with self._connect(create=False) as conn:
            row = conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return {"seq": int(row[0]), "hash": row[1]} if row else {"seq": 0, "hash": GENESIS}

    def check_anchor(self, anchor: Mapping[str, Any], results_sha256: str) -> tuple[int | None, list[str]]:
        """Does the ledger still hold the head a results.json recorded, and that audit's own record after it?

        Returns the sequence number of the audit's record (None when missing) and the problems found.
        """
        seq, digest = anchor.get("seq"), anchor.get("hash")
        if not isinstance(seq, int) or not isinstance(digest, str):
            return None, [f"the report's ledger anchor is malformed ({dict(anchor)!r})"]
        by_seq = {r.seq: r for r in self.records()}
        problems = []
        if seq > 0 and seq not in by_seq:
            problems.append(
                f"record {seq}, the head when the report's audit ran (hash {digest[:12]}…), is missing: "
                "the ledger was cut back below it (or this is not the ledger the audit recorded into)"
            )
        elif seq > 0 and by_seq[seq].hash != digest:
            problems.append(
                f"record {seq} is not the one the report anchors (hash {by_seq[seq].hash[:12]}…, "
                f"the report says {digest[:12]}…)"
            )
        own = next(
            (
                r.seq
                for r in by_seq.values()
                if r.seq > seq
                and r.body.get("action") in ("run", "monitor")
                and r.body.get("results_sha256") == results_sha256
            ),
            None,
        )
        if own is None:
            problems.append(
                f"the report's own audit record (after record {seq}, results sha256 "
                f"{results_sha256[:12]}…) is missing: deleted, or the audit was not recorded here"
            )
        return own, problems

    def verify(self) -> ChainCheck:
        """Recompute every hash and link; report each break with the record it is in."""
        with self._connect(create=False) as conn:
            rows = conn.execute("SELECT seq, body, prev_hash, hash FROM records ORDER BY seq").fetchall()
            high = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        problems: list[str] = []
        prev = GENESIS
        expected_seq = 1
        for seq, text, stored_prev, digest in rows:
            if seq != expected_seq:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
                problems.append(f"record(s) {missing} deleted (the sequence jumps to {seq})")
            if stored_prev != prev:
                problems.append(f"record {seq}: does not link to the record before it (deleted or edited history)")
            if record_hash(stored_prev, text) != digest:
                problems.append(f"record {seq}: its content was changed after it was written (hash mismatch)")
            prev = digest
            expected_seq = seq + 1
        if high is None:
            problems.append(
                "the ledger's sequence counter (the 'records' row of sqlite_sequence) was deleted: "
                "the newest records may have been removed with it"
            )
        issued = int(high[0]) if high else 0
        if issued > (rows[-1][0] if rows else 0):
            last = rows[-1][0] if rows else 0
            problems.append(
                f"the newest record(s) {last + 1}–{issued} were deleted (the ledger had issued up to {issued})"
            )
        return ChainCheck(not problems, len(rows), prev, tuple(problems))


# --- what each command records ---------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def results_sha256(document: Mapping[str, Any]) -> str:
    """How a run record names its results.json: the sha256 of its canonical JSON."""
    return hashlib.sha256(canonical(document).encode()).hexdigest()


def run_entry(
    document: Mapping[str, Any], *, command: list[str], report: Path | None, signer: str | None
) -> dict[str, Any]:
    """A ``run`` (or ``monitor``) record from its results.json document."""
    policy = document.get("policy", {})
    inputs = {i.get("role"): i.get("sha256") for i in document.get("provenance", {}).get("inputs", [])}
    return {
        "action": "monitor" if command[1:2] == ["monitor"] else "run",
        "command": command,
        "inputs": inputs,
        "policy": {"id": policy.get("id"), "version": policy.get("version"), "sha256": policy.get("sha256")},
        "verdict": document.get("verdict"),
        "exit_code": document.get("exit_code"),
        "results_sha256": results_sha256(document),
        "report_sha256": file_sha256(report) if report is not None and report.is_file() else None,
        "signer": signer,
    } | validity(document)


def validity(document: Mapping[str, Any]) -> dict[str, Any]:
    """How long the audit stays valid (its policy's ``valid_for_days`` from its audit date: ``valid_until``,
    the last valid day) and the system audited (its context), when the document records them."""
    out: dict[str, Any] = {}
    day = (document.get("audit") or {}).get("audit_date")
    days = ((document.get("policy") or {}).get("document") or {}).get("valid_for_days")
    if day and days:
        out["audit_date"] = day
        out["valid_until"] = (dt.date.fromisoformat(day) + dt.timedelta(days=int(days))).isoformat()
    system = (document.get("context") or {}).get("system")
    if system:
        out["system"] = dict(system)
    return out


@dataclass(frozen=True)
class Expiring:
    """An audit whose validity has ended (or ends within the days asked about)."""

    record: Record
    valid_until: dt.date
    superseded_by: int | None  # a later audit of the same system under the same policy, if any


def expiring(records: list[Record], *, as_of: dt.date, within_days: int = 0) -> list[Expiring]:
    """The run records whose ``valid_until`` is before ``as_of`` (plus ``within_days``), oldest first; each
    says whether a later audit of the same system (its context's system, else its model or dataset)
    under the same policy id supersedes it."""
    audits = [r for r in records if r.body.get("action") in ("run", "monitor") and r.body.get("valid_until")]
    out = []
    for r in audits:
        until = dt.date.fromisoformat(str(r.body["valid_until"]))
        if until >= as_of + dt.timedelta(days=within_days):
            continue
        later = [o.seq for o in audits if o.seq > r.seq and _same_subject(o.body, r.body)]
        out.append(Expiring(r, until, later[-1] if later else None))
    return out


def _same_subject(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if (a.get("policy") or {}).get("id") != (b.get("policy") or {}).get("id"):
        return False
    if a.get("system") or b.get("system"):
        return (a.get("system") or {}).get("name") == (b.get("system") or {}).get("name")
    inputs_a, inputs_b = a.get("inputs") or {}, b.get("inputs") or {}
    key = "model" if inputs_a.get("model") or inputs_b.get("model") else "dataset"
    return inputs_a.get(key) == inputs_b.get(key)


def report_entry(
    action: str,
    report: Path,
    *,
    command: list[str],
    verdict: str,
    evidence: Mapping[str, Any] | None,
    signers: list[str],
    countersignature: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``sign`` or ``verify`` record: the report's hash and the audit it carries.

    ``countersignature`` (``sign`` only): the role, decision and comment the signature records, and
    the field it filled, so the ledger answers "who approved, with what conditions" on its own.
    """
    inputs: dict[str, Any] = {}
    policy: dict[str, Any] = {}
    if evidence:
        inputs = {i.get("role"): i.get("sha256") for i in evidence.get("provenance", {}).get("inputs", [])}
        pol = evidence.get("policy", {})
        policy = {"id": pol.get("id"), "version": pol.get("version"), "sha256": pol.get("sha256")}
    return {
        "action": action,
        "command": command,
        "inputs": inputs,
        "policy": policy,
        "verdict": verdict,
        "report_sha256": file_sha256(report) if report.is_file() else None,
        "signer": ", ".join(signers) if signers else None,
    } | ({"countersignature": dict(countersignature)} if countersignature is not None else {})


def matches(
    record: Record,
    *,
    model_sha: str | None = None,
    data_sha: str | None = None,
    policy_id: str | None = None,
    action: str | None = None,
) -> bool:
    body = record.body
    inputs = body.get("inputs") or {}

    def prefixed(value: Any, prefix: str) -> bool:
        return isinstance(value, str) and value.lower().startswith(prefix.lower())

    if model_sha and not prefixed(inputs.get("model"), model_sha):
        return False
    if data_sha and not prefixed(inputs.get("dataset"), data_sha):
        return False
    if policy_id and (body.get("policy") or {}).get("id") != policy_id:
        return False
    return not (action and body.get("action") != action)
