"""A content-addressed store of every request sent and the response received.

The key of an entry is the sha256 of the canonical request (sorted-key JSON; it holds header templates,
never the secrets they name). Each entry is one JSON file, ``objects/<key[:2]>/<key>.json``, written
under a temporary name and renamed: an interrupted probe leaves only whole entries, and the next run
sends only what is missing (resume). The manifest of one audit lists its keys with each entry file's
sha256; the manifest's own sha256 is recorded in results.json, so the evidence names exactly the
transcripts it was computed from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from audit.errors import InputError
from audit.probe.adapters import Response


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def request_key(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(request)).hexdigest()


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / "objects" / key[:2] / f"{key}.json"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def put(self, key: str, request: Mapping[str, Any], response: Response) -> None:
        entry = {
            "key": key,
            "request": request,
            "response": {
                "status": response.status,
                "body": response.body,
                "model": response.model,
                "version": response.version,
            },
            "received_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        }
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(canonical(entry))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> tuple[Response, str]:
        """The stored response and when it was received."""
        path = self.path(key)
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a readable cache entry ({exc})", hint="delete it to send it again") from exc
        reply = entry["response"]
        return Response(reply["status"], reply["body"], reply.get("model"), reply.get("version")), entry["received_at"]

    def manifest(self, keys: Iterable[str]) -> dict[str, Any]:
        """Every key of the audit with its entry file's sha256, and the manifest's own sha256."""
        entries = {k: hashlib.sha256(self.path(k).read_bytes()).hexdigest() for k in sorted(set(keys))}
        listing = {"entries": entries}
        digest = hashlib.sha256(canonical(listing)).hexdigest()
        return {"entries": len(entries), "sha256": digest, "listing": listing}

    def write_manifest(self, manifest: Mapping[str, Any]) -> Path:
        path = self.root / f"manifest-{manifest['sha256'][:16]}.json"
        self.root.mkdir(parents=True, exist_ok=True)
        path.write_bytes(canonical(manifest["listing"]))
        return path
