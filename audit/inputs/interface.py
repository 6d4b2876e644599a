"""The inputs stage (files, models, column coding), as the stages after it see it.

Hands on: the dataset reader and its file helpers (``load_dataset``, ``read_header``, ``file_kind``,
``csv_delimiter``, ``unique_names``, ``MEMORY_HINT``) used by the table engines; the model loader
(``load_model``, ``check_trusted_sha256``); the outcome coding (``resolve_positive``, ``to_bool``,
``check_coding``, ``missing_rows``); and the identity of every input file (``InputFile``, ``sha256_file``).
"""

from __future__ import annotations

from audit.inputs.dataset import MEMORY_HINT, load_dataset, read_header
from audit.inputs.files import csv_delimiter, file_kind, unique_names
from audit.inputs.model import check_trusted_sha256, load_model
from audit.inputs.outcomes import check_coding, missing_rows, resolve_positive, to_bool
from audit.inputs.provenance import InputFile, sha256_file

__all__ = [
    "MEMORY_HINT",
    "InputFile",
    "check_coding",
    "check_trusted_sha256",
    "csv_delimiter",
    "file_kind",
    "load_dataset",
    "load_model",
    "missing_rows",
    "read_header",
    "resolve_positive",
    "sha256_file",
    "to_bool",
    "unique_names",
]
