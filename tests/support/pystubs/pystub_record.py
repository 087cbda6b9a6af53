"""What the recording stand-ins share: the call log, signature checks, and small file writers.

The stand-ins for torch, transformers, peft, unsloth and bitsandbytes in this folder are put first
on PYTHONPATH by tests/unit/forge/finetune/trainerExport.test.ts, so train.py imports them instead
of the real libraries (and instead of any torch installed system-wide). Each public function has
the real parameter names of the pinned version (forge/finetune/requirements.txt), so a call with a
wrong argument name fails here as it would there; where the real function takes ``**kwargs``, the
stand-in lists the names it accepts. Every call is appended to the JSON file that
``PYSTUB_RECORD`` names: ``{"call": "peft.PeftModel.save_pretrained", "args": {name: value}}``.

``PYSTUB_CUDA=1`` makes torch report a CUDA device with bfloat16 (and lets unsloth import, as
the real one only does on a GPU).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import struct
from collections.abc import Callable, Iterable
from typing import Any

RECORD_ENV = "PYSTUB_RECORD"
_calls: list[dict[str, Any]] = []


def cuda_enabled() -> bool:
    """True when the test asks for a (pretend) CUDA device."""
    return os.environ.get("PYSTUB_CUDA") == "1"


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    label = getattr(value, "pystub_label", None)
    return label if isinstance(label, str) else type(value).__name__


def record(call: str, args: dict[str, Any]) -> None:
    """Appends one call to the log (the whole file is rewritten, so it is always valid JSON)."""
    _calls.append({"call": call, "args": _json_safe(args)})
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    with open(f"{path}.partial", "w", encoding="utf-8") as handle:
        json.dump(_calls, handle, indent=1)
    os.replace(f"{path}.partial", path)


def record_import(module: str, file: str) -> None:
    """Notes that a stand-in was imported (the test checks that no real library was)."""
    record("import", {"module": module, "file": os.path.abspath(file)})


def recorded(
    name: str, accepts: Iterable[str] = (), skip_self: bool = False, omit: Iterable[str] = ()
) -> Callable[[Callable], Callable]:
    """Checks argument names against ``fn``'s signature (plus ``accepts`` for ``**kwargs``); records the call.

    With ``skip_self`` a method's ``self`` is recorded as its label (``cls`` is left out);
    ``omit`` names arguments recorded only as present (large values).
    """
    extra = frozenset(accepts)
    omitted = frozenset(omit)

    def wrap(fn: Callable) -> Callable:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)  # TypeError on a wrong name, as the real one
            arguments = dict(bound.arguments)
            for param in signature.parameters.values():
                if param.kind is inspect.Parameter.VAR_KEYWORD:
                    unknown = sorted(set(arguments.get(param.name, {})) - extra)
                    if unknown:
                        raise TypeError(f"{name}() got unexpected keyword argument(s) {', '.join(unknown)}")
                    arguments.update(arguments.pop(param.name, {}))
                elif param.kind is inspect.Parameter.VAR_POSITIONAL and not arguments.get(param.name):
                    arguments.pop(param.name, None)
            if skip_self:
                arguments.pop("cls", None)
            for key in omitted & set(arguments):
                arguments[key] = "(omitted)"
            record(name, arguments)
            return fn(*args, **kwargs)

        return call

    return wrap


#: safetensors dtype -> (struct format, byte width).
_FORMATS = {"F16": ("e", 2), "F32": ("f", 4), "I64": ("q", 8)}


def _bf16_bytes(values: list[float]) -> bytes:
    return b"".join(struct.pack("<f", v)[2:] for v in values)  # the top half of each float32


def write_safetensors(path: str, tensors: dict[str, tuple[str, list[int], list[float]]]) -> None:
    """A valid safetensors file: name -> (dtype F16/BF16/F32/I64, shape, flat values)."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, (dtype, shape, values) in tensors.items():
        if dtype == "BF16":
            blob = _bf16_bytes(values)
        else:
            fmt, _ = _FORMATS[dtype]
            blob = struct.pack(f"<{len(values)}{fmt}", *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def write_json(path: str, value: Any) -> None:
    """Writes JSON the way the libraries do (Python's json: a float stays 32.0)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)
        handle.write("\n")
