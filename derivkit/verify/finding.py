"""The record of one diagnosis: :class:`Finding` (shared by the symbolic and the numeric checks).

>>> Finding("sign_error", "the sign is wrong")
Finding(id='sign_error', message='the sign is wrong')
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding"]


@dataclass(frozen=True)
class Finding:
    """A diagnosis: its ``id`` (see :data:`derivkit.verify.diagnosis.DIAGNOSES`) and a sentence explaining it."""

    id: str
    message: str
