"""How inputs held in memory (the Python API: a DataFrame, a fitted estimator, a policy dict) are named
where a file's path would be: in messages, in the request results.json records and in its provenance.

Light on purpose (no pandas): the request imports it.
"""

from __future__ import annotations

import os

FRAME = "<in-memory DataFrame>"
POLICY = "<policy dict>"


def estimator_name(estimator: object) -> str:
    return f"<in-memory {type(estimator).__name__}>"


def is_location(value: object) -> bool:
    """A path as given (text or ``os.PathLike``), rather than an object held in memory."""
    return isinstance(value, str | os.PathLike)
