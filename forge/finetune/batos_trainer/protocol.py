"""The stdout protocol: exit statuses, the two expected errors, JSON-lines events, stderr logs.

stdout carries only JSON objects, one per line, flushed per line; everything a human reads
(and every library print) goes to stderr. See ``train.py`` for the events themselves.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class TrainerError(Exception):
    """An expected failure; its message becomes the ``error`` event, then exit 1."""


class UsageError(Exception):
    """A bad command line or config; its message becomes the ``error`` event, then exit 2."""


def _json_safe(value: Any) -> Any:
    """Turns a value into something ``json.dumps`` writes as strict JSON (NaN/inf -> null)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    try:  # numpy / torch scalars
        return _json_safe(float(value))
    except (TypeError, ValueError):
        return str(value)


class Protocol:
    """Writes protocol objects, one JSON object per line, flushed line by line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, obj: Mapping[str, Any]) -> None:
        """Writes one JSON object as a line."""
        self._stream.write(json.dumps(_json_safe(obj), allow_nan=False) + "\n")
        self._stream.flush()

    def emit(self, event: str, **fields: Any) -> None:
        """Writes ``{"event": event, **fields}``."""
        self.write({"event": event, **fields})


def open_protocol_stream() -> TextIO:
    """Keeps the real stdout for the protocol and sends everything else to stderr.

    Descriptor 1 is duplicated for the protocol, then pointed at stderr (so C extensions
    and child processes that write to descriptor 1 land on stderr too), and ``sys.stdout``
    becomes ``sys.stderr`` for Python-level prints from libraries.
    """
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1)


def log(message: str) -> None:
    """A human-readable line on stderr."""
    print(f"[train.py] {message}", file=sys.stderr, flush=True)
