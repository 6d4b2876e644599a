"""The in-memory engine: the rows themselves, read by :func:`audit.inputs.dataset.load_dataset`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from audit.errors import InputError
from audit.inputs.dataset import load_dataset, read_header
from audit.tables.engines.files import is_glob
from audit.tables.engines.interface import Engine


class NumpyEngine(Engine):
    name = "numpy"

    def _path(self) -> Path:
        if is_glob(self.files.spec):
            raise InputError(f"{self.files.spec}: the numpy engine reads one file or one directory, not a pattern",
                             hint="use --engine duckdb (or auto) for globs")
        return Path(self.files.spec)

    def header(self) -> list[str]:
        return read_header(self._path())

    def read(
        self, *, columns: Sequence[str], keep: Sequence[str], text_columns: Sequence[str],
        model: Any = None, features: Sequence[str] | None = None,
    ) -> tuple[pd.DataFrame, Any]:
        return load_dataset(self._path(), columns=list(columns), text_columns=text_columns), model
