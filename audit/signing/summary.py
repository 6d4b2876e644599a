"""What ``fairgate verify`` prints: a human summary, or the same facts as JSON.

The summary says, per signature, who signed (and who issued their certificate), in what role,
when, and where that time comes from (a timestamp authority, or only the signer's clock), then
which checks were made, the problems found, and VALID or INVALID. Roles come from the signature
itself (its field name ``Fairgate-<role>-<n>`` and its reason, both inside the signed bytes):
results.json is attached before anyone signs, so it cannot record who signs later.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audit.signing.verify import SignatureCheck, VerificationReport

CHECKS = (
    "every signature's digest over the bytes it signs, and its cryptographic value",
    "each signer's certificate chains to a --trust certificate, and a CA-issued one allows non-repudiation",
    "each timestamp token (when present) is valid and its authority chains to a --trust certificate",
    "only further signatures follow a signature, and the last one covers the whole file",
    "nothing is hidden after a signature value (/Contents padding)",
    "results.json is attached and is JSON",
)
RECOMPUTE_CHECK = "the audit re-run on the given data gives the same results.json (--recompute)"


def checks_made(*, recompute: bool, required_roles: Sequence[str] = ()) -> list[str]:
    made = [*CHECKS, RECOMPUTE_CHECK] if recompute else list(CHECKS)
    if required_roles:
        made.append(f"each required role has signed (--require-role {','.join(required_roles)})")
    return made


def as_json(
    checked: VerificationReport,
    *,
    ok: bool,
    problems: Sequence[str],
    recompute: bool,
    required_roles: Sequence[str] = (),
) -> dict[str, Any]:
    """The JSON record: every signature's facts, roles in signing order, checks, problems, verdict."""
    return checked.to_dict() | {
        "ok": ok,
        "verdict": "VALID" if ok else "INVALID",
        "problems": list(problems),
        "roles": [check.role for check in checked.signatures],
        "checks": checks_made(recompute=recompute, required_roles=required_roles),
    }


def human_lines(
    report: Path,
    checked: VerificationReport,
    *,
    ok: bool,
    problems: Sequence[str],
    recompute: bool,
    trust_count: int,
    required_roles: Sequence[str] = (),
) -> list[str]:
    """The summary, one line per item."""
    count = len(checked.signatures)
    lines = [f"{report}: {count} signature{'' if count == 1 else 's'}"]
    for check in checked.signatures:
        lines += _signature_lines(check)
    if checked.signatures:
        lines.append(f"checked against {trust_count} --trust certificate{'' if trust_count == 1 else 's'}:")
        lines += [f"  - {item}" for item in checks_made(recompute=recompute, required_roles=required_roles)]
    lines += [f"problem: {problem}" for problem in problems]
    return lines


def _signature_lines(check: SignatureCheck) -> list[str]:
    role = check.role or "(role unknown)"
    signer = check.signer or "(signer unreadable)"
    issued = "self-signed" if check.issuer == check.signer else f"issued by {check.issuer or '(unreadable)'}"
    dev = " [DEVELOPMENT KEY: not evidence]" if check.development_only else ""
    lines = [f"  {check.index}. {role}: {signer} ({issued}){dev}"]
    if check.decision or check.comment:
        comment = f": {check.comment}" if check.comment else ""
        lines.append(f"     decision: {check.decision or '(not recorded)'}{comment}")
    ts = check.timestamp
    if ts is None:
        lines.append(
            f"     signed at {check.signing_time or '(time unreadable)'} by the signer's clock (no timestamp authority)"
        )
    else:
        state = (
            "valid, trusted"
            if ts.intact and ts.valid and ts.trusted
            else "valid, NOT trusted"
            if ts.intact and ts.valid
            else "INVALID"
        )
        lines.append(
            f"     timestamped at {ts.time or '(unreadable)'} by timestamp authority "
            f"{ts.tsa or '(unreadable)'} ({state}); the signer's clock said "
            f"{check.signing_time or '(unreadable)'}"
        )
    lines.append(
        f"     signature: {'intact' if check.intact else 'CHANGED'}, "
        f"{'valid' if check.valid else 'INVALID'}, signer {'trusted' if check.trusted else 'NOT trusted'}; "
        f"after it: {check.changes_after}"
    )
    return lines
