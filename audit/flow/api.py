"""The Python API's side of ``run_audit``: what kinds of argument it takes, and recording the audit in the
ledger as ``fairgate run`` does.

A notebook holds a DataFrame, a fitted estimator and perhaps a policy as a dict; each is audited in
memory (see :mod:`audit.inputs.frame`, :func:`audit.inputs.model.from_estimator` and
:func:`audit.policy.load.load_policy_mapping`). Anything else is refused up front with an
:class:`~audit.errors.ArgumentError` naming the argument and the kinds it accepts, rather than a
``TypeError`` from deep inside pandas or pathlib.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.errors import ArgumentError
from audit.inputs.held import is_location

if TYPE_CHECKING:
    from audit.flow.result import AuditResult

#: What each argument accepts, as the error says it.
ACCEPTED = {
    "data": "a path (str or os.PathLike) or a pandas DataFrame",
    "model": "None, a path (str or os.PathLike) to a .skops/.onnx file, or a fitted scikit-learn estimator",
    "policy": "a shipped policy id, a path to a YAML file, or a dict",
    "sensitive": "a column name or a list of column names",
    "ledger": "True (the default ledger), False (no record) or a path to a ledger file",
}
#: The command a notebook audit is recorded under in the ledger (``fairgate history`` shows it).
API_COMMAND = ("audit.run_audit",)


def _refuse(name: str, value: object) -> ArgumentError:
    return ArgumentError(
        f"run_audit({name}=…): expected {ACCEPTED[name]}, got {_kind(value)}",
        hint="see docs/notebook.md for what each argument takes",
    )


def _kind(value: object) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__


def check_arguments(*, data: Any, model: Any, policy: Any, sensitive: Any, ledger: Any) -> None:
    """Refuse an argument of the wrong kind before anything is read."""
    import pandas as pd

    if not (is_location(data) or isinstance(data, pd.DataFrame)):
        raise _refuse("data", data)
    if model is not None and not is_location(model):
        if isinstance(model, bytes | Mapping | Sequence | pd.DataFrame) or not callable(
            getattr(model, "predict", None)
        ):
            raise _refuse("model", model)
        _check_fitted(model)
    if not (is_location(policy) or isinstance(policy, Mapping)):
        raise _refuse("policy", policy)
    if not (
        isinstance(sensitive, str) or (isinstance(sensitive, Sequence) and all(isinstance(s, str) for s in sensitive))
    ):
        raise _refuse("sensitive", sensitive)
    if not (isinstance(ledger, bool) or is_location(ledger)):
        raise _refuse("ledger", ledger)


def _check_fitted(model: Any) -> None:
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(model, BaseEstimator):
        raise _refuse("model", model)
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise ArgumentError(
            f"run_audit(model=…): the {type(model).__name__} is not fitted",
            hint="fit it first (model.fit(X, y)), then audit it",
        ) from None


def record_in_ledger(result: AuditResult, ledger: bool | Path | str) -> AuditResult:
    """Record the audit in the ledger as ``fairgate run`` does: the ledger's head before it goes into the
    result (so a results.json saved from it anchors the ledger), then a ``run`` record of that document.

    ``True``: ``$FAIRGATE_LEDGER``, else the default ledger; one that cannot be written is a warning
    (as the CLI's default ledger is). A path: that ledger, which must work (LedgerError otherwise).
    """
    if ledger is False:
        return result
    from audit.signing.ledger import LEDGER_ENV, Ledger, LedgerError, default_path, run_entry

    named = (
        Path(ledger)
        if not isinstance(ledger, bool)
        else (Path(os.environ[LEDGER_ENV]) if os.environ.get(LEDGER_ENV) else None)
    )
    book = Ledger(named or default_path())
    try:
        book.ensure_writable()
        anchored = dataclasses.replace(result, ledger=book.head())
        command = list(result.command) or list(API_COMMAND)
        book.append(run_entry(anchored.to_dict(), command=command, report=None, signer=None))
    except LedgerError as exc:
        if named is not None:
            raise
        warnings.warn(f"not recording in the audit ledger: {exc.message}", stacklevel=3)
        return result
    return anchored
