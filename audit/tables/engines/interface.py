"""What every engine does: read the columns an audit needs and hand back rows to count.

An engine turns ``--data`` into a pandas frame for the counting functions of
:mod:`audit.tables.groups` and :mod:`audit.tables.scores`. The numpy engine returns the rows
themselves. Out-of-core engines (DuckDB, Spark) return a *compact* frame instead: one row per
distinct combination of the raw values the audit uses (sensitive features, label, decision or
score, and the model's outputs when there is a model), with :data:`WEIGHT` counting the rows it
stands for. That GROUP BY is the engine's whole job; turning raw values into groups (stripping,
``unknown``), labels into booleans and rows into tables is the same Python code for every
engine, so their answers are identical by construction (see :mod:`audit.tables.scores` for how
floating-point sums are kept independent of row order).

With ``--model``, out-of-core engines predict batch by batch (:data:`BATCH_ROWS` rows at a time,
the batch size :class:`audit.inputs.model.LoadedModel` uses in memory) and keep only the reduced
counts; the model's decision and positive-class score sit in the :data:`PRED` and :data:`SCORE`
columns and :class:`Precomputed` hands them to the pipeline as if the model predicted them.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.inputs.provenance import InputFile
from audit.tables.engines.files import DataFiles
from audit.tables.groups import WEIGHT, frame_weights
from audit.tables.proba import ProbaSpec

#: The model's hard decision and positive-class score, precomputed batch by batch.
PRED = "__fairgate_pred__"
SCORE = "__fairgate_score__"
ENGINES = ("numpy", "duckdb", "spark")
#: auto picks DuckDB for Parquet inputs larger than this share of the machine's memory.
DEFAULT_THRESHOLD = 0.1
THRESHOLD_ENV = "FAIRGATE_ENGINE_THRESHOLD"


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """How an engine runs; none of this changes the results."""

    memory_limit: str | None = None  # DuckDB memory_limit, e.g. "2GB"
    temp_directory: Path | None = None  # DuckDB spill directory (default: a fresh temporary one)
    threads: int | None = None
    spark_master: str | None = None  # default local[*]; a session that already exists is reused
    threshold: float | None = None  # auto: share of RAM above which Parquet goes to DuckDB


@dataclass(frozen=True)
class Binning:
    """Count the probabilities of ``score`` in cells (:func:`audit.tables.scores.cell_sql`) rather than
    keep every distinct score; ``split_at``: the decision threshold. SQL engines honour it when the
    rows are many (:func:`audit.tables.scores.bins_scores`); the numpy engine keeps the rows."""

    score: str
    split_at: float | None = None


class Engine(ABC):
    """Reads the audit's columns from ``files``; subclasses are the backends."""

    name: str = ""

    def __init__(self, files: DataFiles, options: EngineOptions) -> None:
        self.files = files
        self.options = options
        self._hashing: _Hashing | None = None

    @abstractmethod
    def header(self) -> list[str]:
        """Column names, without reading rows."""

    @abstractmethod
    def read(
        self,
        *,
        columns: Sequence[str],
        keep: Sequence[str],
        text_columns: Sequence[str],
        model: Any = None,
        features: Sequence[str] | None = None,
        proba: ProbaSpec | None = None,
        binning: Binning | None = None,
    ) -> tuple[pd.DataFrame, Any]:
        """The rows (or a compact frame) and the model to predict with (or a :class:`Precomputed`).

        ``columns`` are every column needed, ``keep`` those the audit reads after prediction
        (sensitive, label, decision, score): a compact frame groups by ``keep``. ``proba``: a feature
        given as probability columns: a compact frame then also has the keys and sums of
        :mod:`audit.tables.proba` (the SQL engines without a model); else the rows keep the columns.
        """

    def start_hashing(self) -> None:
        """Hash the input files for :meth:`provenance` in a thread while the rows are read.

        hashlib releases the GIL, so a large file's sha256 (0.8 s for 850 MB here) overlaps the
        read instead of following it. Engines without local files (a Spark table) do nothing.
        """
        if self.files is not None and self._hashing is None:
            self._hashing = _Hashing(lambda stop: self.files.provenance("dataset", stop))

    def provenance(self) -> InputFile:
        if self._hashing is not None:
            return self._hashing.result()
        return self.files.provenance("dataset")

    def close(self) -> None:
        """Release connections and temporary files (subclasses call this too)."""
        if self._hashing is not None:
            self._hashing.abandon()


class _Hashing:
    """One background computation whose result (or exception) is handed over on demand."""

    def __init__(self, work: Any) -> None:
        self._stop = threading.Event()
        self._out: list[Any] = []
        self._error: list[BaseException] = []

        def run() -> None:
            try:
                self._out.append(work(self._stop))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller of result()
                self._error.append(exc)

        self._thread = threading.Thread(target=run, name="fairgate-sha256", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        self._thread.join()
        if self._error:
            raise self._error[0]
        return self._out[0]

    def abandon(self) -> None:
        self._stop.set()
        self._thread.join()


def row_count(frame: pd.DataFrame) -> int:
    weights = frame_weights(frame)
    return len(frame) if weights is None else int(weights.sum())


def compact(parts: Iterable[pd.DataFrame], by: Sequence[str]) -> pd.DataFrame:
    """Sum the :data:`WEIGHT` of rows that agree on every ``by`` column (missing values included)."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return pd.DataFrame({**{c: [] for c in by}, WEIGHT: np.zeros(0, np.int64)})
    joined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if not by:
        return pd.DataFrame({WEIGHT: [int(joined[WEIGHT].sum())]})
    out = joined.groupby(list(by), dropna=False, observed=True, sort=False)[WEIGHT].sum().reset_index()
    out[WEIGHT] = out[WEIGHT].astype(np.int64)
    return out


def reduce_batch(
    batch: pd.DataFrame, *, keep: Sequence[str], model: Any, features: Sequence[str] | None, text_columns: Sequence[str]
) -> pd.DataFrame:
    """Predict one batch (when there is a model) and reduce it to distinct rows with their counts."""
    for col in text_columns:  # as audit.inputs.dataset.load_dataset does for the whole frame
        if not isinstance(batch[col].dtype, pd.CategoricalDtype):
            batch[col] = batch[col].astype("string")
    part = batch[list(keep)].copy()
    by = list(keep)
    if model is not None:
        part[PRED] = model.predict(batch, features=features)
        scores = model.predict_scores(batch, features=features)
        by.append(PRED)
        if scores is not None:
            part[SCORE] = np.asarray(scores, dtype=np.float64)
            by.append(SCORE)
    part[WEIGHT] = np.ones(len(part), dtype=np.int64)
    return compact([part], by)


def finish(frame: pd.DataFrame, text_columns: Sequence[str]) -> pd.DataFrame:
    """Give a compact frame's sensitive columns the dtypes the numpy engine gives them: categories
    (from dictionary-encoded columns, a small code per row) or else text."""
    for col in text_columns:
        if not isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype("string")
    frame[WEIGHT] = frame[WEIGHT].astype(np.int64)
    return frame


@dataclass(frozen=True)
class Precomputed:
    """A model whose outputs were computed batch by batch while the engine read the data."""

    model: Any

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def path(self) -> Path:
        return self.model.path

    @property
    def feature_names(self) -> Any:
        return self.model.feature_names

    @property
    def classes(self) -> Any:
        return self.model.classes

    @property
    def sha256(self) -> str:
        return self.model.sha256

    def predict(self, frame: pd.DataFrame, *, features: Sequence[str] | None = None) -> np.ndarray:
        return frame[PRED].to_numpy()

    def predict_scores(self, frame: pd.DataFrame, *, features: Sequence[str] | None = None) -> np.ndarray | None:
        return frame[SCORE].to_numpy(dtype=np.float64) if SCORE in frame.columns else None


def memory_bytes() -> int | None:
    """Total memory of this machine (Linux /proc/meminfo, else POSIX sysconf), or None."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None
