"""Reading safetensors headers and rewriting a merged folder's weights as float16.

A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's dtype,
shape and byte range, plus an optional ``__metadata__`` map) and the raw tensor bytes. The
header is all the checks need, so they read it with the standard library. The float16 rewrite
converts the bytes with numpy (always installed with transformers), imported inside the function,
a bounded chunk at a time so a multi-gigabyte shard never sits in memory whole.

Why float16: the merged folder is imported by Ollama, which quantizes (``q4_K_M``, ``q8_0``)
float16 and float32 weights; Unsloth writes its merge in the model's own dtype, which is
bfloat16 on recent GPUs.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

from .protocol import TrainerError

#: Floating dtypes rewritten as F16, with their numpy little-endian type and byte width.
_FLOAT_SOURCES = {"BF16": ("<u2", 2), "F32": ("<f4", 4), "F64": ("<f8", 8)}
#: Elements converted per step (64 Mi elements: at most a few hundred MB of temporaries).
_CHUNK_ELEMENTS = 1 << 26
FLOAT_DTYPES = ("F16", *_FLOAT_SOURCES)


def read_header(path: str) -> tuple[dict[str, Any], int]:
    """The JSON header of a safetensors file and the offset where its tensor bytes start."""
    try:
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) != 8:
                raise TrainerError(f"{path} is not a safetensors file (shorter than its header length)")
            (length,) = struct.unpack("<Q", prefix)
            if length > 100_000_000:
                raise TrainerError(f"{path} is not a safetensors file (header length {length})")
            header = json.loads(handle.read(length).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrainerError(f"cannot read the safetensors header of {path}: {exc}") from exc
    if not isinstance(header, dict):
        raise TrainerError(f"{path} has a safetensors header that is not a JSON object")
    return header, 8 + length


def tensor_dtypes(path: str) -> dict[str, str]:
    """Tensor name -> safetensors dtype (``F16``, ``BF16``, ``F32``, ``I64``...)."""
    header, _ = read_header(path)
    return {name: str(info.get("dtype")) for name, info in header.items() if name != "__metadata__"}


def _element_count(shape: list[int]) -> int:
    count = 1
    for size in shape:
        count *= int(size)
    return count


def _convert_chunk(np: Any, raw: Any, dtype: str) -> Any:
    """Little-endian bytes of ``dtype`` -> a float16 array (bfloat16 widened exactly to float32 first)."""
    numpy_type, _ = _FLOAT_SOURCES[dtype]
    values = raw.view(numpy_type)
    if dtype == "BF16":
        values = (values.astype("<u4") << 16).view("<f4")
    with np.errstate(over="ignore"):
        converted = values.astype("<f2")
    if not np.isfinite(converted).all() and np.isfinite(values).all():
        raise TrainerError("a weight is too large for float16 (beyond 65504) after merging")
    return converted


def _planned_header(header: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The float16 header and the tensors in file order (the source ranges of each)."""
    tensors = sorted(
        ((name, info) for name, info in header.items() if name != "__metadata__"),
        key=lambda item: item[1]["data_offsets"][0],
    )
    planned: dict[str, Any] = {}
    if "__metadata__" in header:
        planned["__metadata__"] = header["__metadata__"]
    offset = 0
    for name, info in tensors:
        start, end = info["data_offsets"]
        size = end - start
        dtype = info["dtype"]
        if dtype in _FLOAT_SOURCES:
            size = _element_count(info["shape"]) * 2
            dtype = "F16"
        planned[name] = {"dtype": dtype, "shape": info["shape"], "data_offsets": [offset, offset + size]}
        offset += size
    return planned, tensors


def convert_file_to_float16(path: str) -> int:
    """Rewrites every floating tensor of one file as F16 (in place, through a temporary file).

    Returns the number of tensor bytes the new file holds.
    """
    import numpy as np

    header, data_start = read_header(path)
    planned, tensors = _planned_header(header)
    encoded = json.dumps(planned, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the tensor bytes start 8-byte aligned
    temporary = f"{path}.f16-partial"
    source = np.memmap(path, dtype=np.uint8, mode="r")
    try:
        with open(temporary, "wb") as out:
            out.write(struct.pack("<Q", len(encoded)))
            out.write(encoded)
            for _name, info in tensors:
                start, end = (data_start + offset for offset in info["data_offsets"])
                dtype = info["dtype"]
                if dtype not in _FLOAT_SOURCES:
                    out.write(source[start:end].tobytes())
                    continue
                step = _CHUNK_ELEMENTS * _FLOAT_SOURCES[dtype][1]
                for chunk_start in range(start, end, step):
                    raw = np.array(source[chunk_start : min(end, chunk_start + step)])
                    out.write(_convert_chunk(np, raw, dtype).tobytes())
        os.replace(temporary, path)
    finally:
        del source
        if os.path.exists(temporary):
            os.remove(temporary)
    return max((info["data_offsets"][1] for n, info in planned.items() if n != "__metadata__"), default=0)


def _set_config_dtype(folder: str) -> None:
    """config.json says float16 under the key(s) it uses (``dtype`` since transformers 4.56)."""
    path = os.path.join(folder, "config.json")
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    keys = [key for key in ("dtype", "torch_dtype") if key in config] or ["torch_dtype"]
    if all(config.get(key) == "float16" for key in keys):
        return
    for key in keys:
        config[key] = "float16"
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2, sort_keys=True)
        handle.write("\n")


def ensure_float16(folder: str, shards: list[str]) -> list[str]:
    """Rewrites the shards whose floating tensors are not all F16; returns the files rewritten.

    The index's ``total_size`` follows the new sizes, and config.json ends up saying float16.
    """
    rewritten = []
    for shard in shards:
        dtypes = set(tensor_dtypes(os.path.join(folder, shard)).values())
        if dtypes & set(_FLOAT_SOURCES):
            convert_file_to_float16(os.path.join(folder, shard))
            rewritten.append(shard)
    index_path = os.path.join(folder, "model.safetensors.index.json")
    if rewritten and os.path.isfile(index_path):
        with open(index_path, encoding="utf-8") as handle:
            index = json.load(handle)
        total = 0
        for shard in shards:
            header, _ = read_header(os.path.join(folder, shard))
            total += max(
                (info["data_offsets"][1] for n, info in header.items() if n != "__metadata__"), default=0
            )
        index.setdefault("metadata", {})["total_size"] = total
        with open(index_path, "w", encoding="utf-8") as handle:
            json.dump(index, handle, indent=2)
            handle.write("\n")
    _set_config_dtype(folder)
    return rewritten
