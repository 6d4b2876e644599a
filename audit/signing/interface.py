"""The signing stage (the report's PDF bytes → signatures, verification, the ledger).

Hands on: keys (``load_signer``, ``signer_description``, ``generate_dev_key``, ``KeyOpenError``),
``sign_pdf`` and ``check_tsa_url``, ``verify_pdf`` and ``attached_files`` (the evidence inside a
signed report), and the hash-chained audit ledger (``Ledger``, ``LedgerError``, ``default_path``,
``run_entry``, ``report_entry``, ``results_sha256``, ``matches``).
"""

from __future__ import annotations

from audit.signing.keys import KeyOpenError, generate_dev_key, load_signer, signer_description
from audit.signing.ledger import Ledger, LedgerError, default_path, matches, report_entry, results_sha256, run_entry
from audit.signing.sign import check_tsa_url, sign_pdf
from audit.signing.verify import attached_files, verify_pdf

__all__ = [
    "KeyOpenError",
    "Ledger",
    "LedgerError",
    "attached_files",
    "check_tsa_url",
    "default_path",
    "generate_dev_key",
    "load_signer",
    "matches",
    "report_entry",
    "results_sha256",
    "run_entry",
    "sign_pdf",
    "signer_description",
    "verify_pdf",
]
