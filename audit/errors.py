"""Every failure Fairgate expects, with the exit code a release pipeline gates on.

Exit codes (see README): 0 pass · 1 a blocking policy rule failed · 2 cannot run
(usage, bad input, bad policy, bad signature) · 3 unexpected internal error · 130 interrupted.
The CLI catches ``FairgateError`` in one place and prints ``error: <message>`` plus an optional
``hint: <hint>`` line; anything else is an internal error whose traceback goes to a log file.
"""

from __future__ import annotations

EXIT_PASS = 0
EXIT_POLICY_FAILED = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class FairgateError(Exception):
    """An expected failure: one line naming the file, column, key or rule, plus a hint."""

    exit_code: int = EXIT_CANNOT_RUN

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(FairgateError):
    """The command line asks for something inconsistent."""


class ArgumentError(UsageError, TypeError):
    """A Python API argument of the wrong kind (a ``TypeError`` too, for code that catches those):
    the message names the argument and the kinds it accepts."""


class InputError(FairgateError):
    """A dataset or model file cannot be read or does not fit the audit."""


class PolicyError(FairgateError):
    """A policy file is missing, malformed or refers to something that does not exist.

    ``problems``: every problem found, each naming its file, line and key (``policy validate`` prints
    them one per line; elsewhere the one-line message joins the first few)."""

    def __init__(self, message: str, *, hint: str | None = None, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems or (message,)


class RenderError(FairgateError):
    """The report could not be rendered (templates, charts, PDF)."""


class SigningError(FairgateError):
    """A key cannot be loaded or a document cannot be signed."""


class VerificationError(FairgateError):
    """A signed document cannot be checked at all (not: it was checked and is invalid)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI cancellation, Kubernetes, ``timeout``) or SIGHUP (a closed terminal), raised like
    Ctrl-C's KeyboardInterrupt so every clean-up that handles an interrupt handles these too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        import signal

        return signal.Signals(self.signum).name


#: Termination signals received by this process (the CLI's handler notes each before raising).
RECEIVED: list[int] = []


def interruption() -> KeyboardInterrupt:
    """What to raise when a library (DuckDB, Spark) reports that it was interrupted: ``Terminated``
    for the SIGTERM or SIGHUP that did it, else a plain KeyboardInterrupt (Ctrl-C)."""
    return Terminated(RECEIVED[-1]) if RECEIVED else KeyboardInterrupt()
