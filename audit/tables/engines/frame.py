"""The engine for a pandas DataFrame held in memory (the Python API): no file, the rows as given.

It reads as the numpy engine reads a file — the same columns, text columns as text or
categories — so the audit of a frame and of the file it was written to agree.
Its provenance is the frame's canonical hash (:mod:`audit.inputs.frame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from audit.inputs.frame import frame_columns, frame_header, frame_provenance
from audit.inputs.provenance import InputFile
from audit.tables.engines.interface import Binning, Engine, EngineOptions
from audit.tables.proba import ProbaSpec


class FrameEngine(Engine):
    name = "numpy"

    def __init__(self, frame: pd.DataFrame, options: EngineOptions | None = None) -> None:
        super().__init__(None, options or EngineOptions())  # type: ignore[arg-type]  # no files: a frame
        self.frame = frame

    def header(self) -> list[str]:
        return frame_header(self.frame)

    def read(
        self,
        *,
        columns: Sequence[str],
        keep: Sequence[str],
        text_columns: Sequence[str],
        model: Any = None,
        features: Sequence[str] | None = None,
        proba: ProbaSpec | None = None,
        binning: Binning | None = None,  # the rows are in memory: count_scores bins them
    ) -> tuple[pd.DataFrame, Any]:
        # the rows as given: with probability columns, audit.tables.proba.count_proba sums them as for a file
        wanted = list(dict.fromkeys([*columns, *(proba.columns if proba else ())]))
        return frame_columns(self.frame, columns=wanted, text_columns=text_columns), model

    def start_hashing(self) -> None:
        """The hash is computed on demand (in memory, vectorised: no file to overlap with)."""

    def provenance(self) -> InputFile:
        return frame_provenance(self.frame)
