"""What a run leaves in ``--output``: the LoRA adapter, and the adapter merged into the base.

``--export adapter|merged|both`` (default ``both``):

* the adapter (PEFT layout: ``adapter_model.safetensors`` + ``adapter_config.json``) is written
  to ``<output>/`` in every mode: vLLM loads it at run time, Ollama before v0.34.1 imports it,
  and the merge of a QLoRA run starts from it;
* ``merged`` and ``both`` also write ``<output>/merged/``: a Hugging Face folder (``config.json``,
  the tokenizer's files, ``*.safetensors`` shards) with the adapter merged into the base, in
  float16, which every Ollama version imports as a whole model (``files`` + ``quantize``).

How the merge is done: Unsloth's ``save_pretrained_merged(dir, tokenizer,
save_method="merged_16bit")`` (it dequantizes a 4-bit base itself); with PEFT,
``merge_and_unload()`` on the trained model, or for QLoRA on a float16 reload of the base with
the saved adapter (merging into 4-bit weights would round the update away), then
``save_pretrained(dir, safe_serialization=True)`` and the tokenizer's ``save_pretrained``.
Whatever the backend wrote, the shards are then checked (no LoRA tensor left, every floating
tensor float16) and rewritten as float16 where they are not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from typing import Any

from .model import Libraries, _dtype_keyword
from .protocol import TrainerError, log
from .safetensors_io import FLOAT_DTYPES, ensure_float16, tensor_dtypes

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
#: The merged model's folder inside ``--output``.
MERGED_SUBDIR = "merged"
#: Shard size of the merged weights (Hugging Face's usual; Ollama takes each shard as a blob).
MERGED_SHARD_SIZE = "5GB"
#: The adapter config keys that must be JSON integers (Ollama's converter rejects ``32.0``).
_INTEGER_ADAPTER_KEYS = ("r", "lora_alpha")


@dataclasses.dataclass(frozen=True)
class Exported:
    """The folders a run wrote (absolute paths); ``merged_dir`` is None with ``--export adapter``."""

    adapter_dir: str
    merged_dir: str | None


def merged_dir_of(output_dir: str) -> str:
    """``<output>/merged``, absolute."""
    return os.path.join(os.path.abspath(output_dir), MERGED_SUBDIR)


def clear_stale_outputs(output_dir: str) -> None:
    """Removes an earlier run's adapter files and merged folder, so none is ever reported as new."""
    for stale in (ADAPTER_WEIGHTS, ADAPTER_CONFIG, "adapter_model.bin"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(output_dir, stale))
    merged = merged_dir_of(output_dir)
    if os.path.isdir(merged) and not os.path.islink(merged):
        shutil.rmtree(merged)
    elif os.path.lexists(merged):
        os.remove(merged)


def _normalize_adapter_config(path: str) -> None:
    """Writes ``r`` and ``lora_alpha`` as integers when a library wrote them as ``16.0``."""
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    changed = False
    for key in _INTEGER_ADAPTER_KEYS:
        value = config.get(key)
        if isinstance(value, float) and value.is_integer():
            config[key] = int(value)
            changed = True
    if changed:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2, sort_keys=True)
            handle.write("\n")


def check_adapter(output_dir: str) -> None:
    """The two adapter files exist and the weights hold LoRA tensors."""
    missing = [
        n for n in (ADAPTER_WEIGHTS, ADAPTER_CONFIG) if not os.path.isfile(os.path.join(output_dir, n))
    ]
    if missing:
        found = ", ".join(sorted(os.listdir(output_dir))) or "nothing"
        raise TrainerError(
            f"the adapter was saved without {', '.join(missing)} in {output_dir} (found: {found})"
        )
    names = tensor_dtypes(os.path.join(output_dir, ADAPTER_WEIGHTS))
    if not any("lora_" in name for name in names):
        raise TrainerError(f"{ADAPTER_WEIGHTS} in {output_dir} holds no LoRA tensor")


def save_adapter(model: Any, output_dir: str) -> str:
    """Saves the adapter (PEFT layout) into ``output_dir``; returns the absolute folder."""
    os.makedirs(output_dir, exist_ok=True)
    model.save_pretrained(output_dir, safe_serialization=True)
    with contextlib.suppress(FileNotFoundError):
        _normalize_adapter_config(os.path.join(output_dir, ADAPTER_CONFIG))
    check_adapter(output_dir)
    return os.path.abspath(output_dir)


def _merge_with_peft(libs: Libraries, model: Any, base: str, adapter_dir: str, quantized: bool) -> Any:
    """The merged model: in place, or for QLoRA on a float16 reload of the base (on the CPU)."""
    if not quantized:
        return model.merge_and_unload()
    log("QLoRA: reloading the base in float16 on the CPU to merge the adapter into 16-bit weights")
    base16 = libs.transformers.AutoModelForCausalLM.from_pretrained(
        base, **{_dtype_keyword(libs): libs.torch.float16}, low_cpu_mem_usage=True
    )
    return libs.peft.PeftModel.from_pretrained(base16, adapter_dir).merge_and_unload()


def _write_merged(
    libs: Libraries, model: Any, tokenizer: Any, base: str, adapter_dir: str, merged_dir: str, quantized: bool
) -> None:
    if libs.fast_language_model is not None:
        model.save_pretrained_merged(merged_dir, tokenizer=tokenizer, save_method="merged_16bit")
        return
    merged = _merge_with_peft(libs, model, base, adapter_dir, quantized)
    merged = merged.to(libs.torch.float16)
    if getattr(merged, "config", None) is not None:
        merged.config.use_cache = True  # training turned it off for gradient checkpointing
    # transformers 5 always writes safetensors and takes safe_serialization only through
    # **kwargs; 4.x needs it. Either way the check below reads the files written.
    merged.save_pretrained(merged_dir, safe_serialization=True, max_shard_size=MERGED_SHARD_SIZE)
    tokenizer.save_pretrained(merged_dir)


def check_merged(merged_dir: str) -> list[str]:
    """The folder Ollama imports: config, tokenizer, merged shards; returns the shard names."""
    names = set(os.listdir(merged_dir)) if os.path.isdir(merged_dir) else set()
    problems = []
    if "config.json" not in names:
        problems.append("no config.json")
    if "tokenizer_config.json" not in names or not names & {"tokenizer.json", "tokenizer.model"}:
        problems.append("no tokenizer (tokenizer_config.json with tokenizer.json or tokenizer.model)")
    shards = sorted(n for n in names if n.endswith(".safetensors"))
    if not shards:
        problems.append("no *.safetensors weights")
    index = os.path.join(merged_dir, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as handle:
            listed = set(json.load(handle).get("weight_map", {}).values())
        if listed - set(shards):
            problems.append(f"the index names missing shards {', '.join(sorted(listed - set(shards)))}")
    for shard in shards:
        tensors = tensor_dtypes(os.path.join(merged_dir, shard))
        if any("lora_" in name or name.startswith("base_model.model.") for name in tensors):
            problems.append(f"{shard} holds adapter tensors, not merged weights")
    if problems:
        found = ", ".join(sorted(names)) or "nothing"
        raise TrainerError(
            f"the merged model in {merged_dir} is incomplete: {'; '.join(problems)} (found: {found})"
        )
    return shards


def _check_float16(merged_dir: str, shards: list[str]) -> None:
    for shard in shards:
        wrong = {d for d in tensor_dtypes(os.path.join(merged_dir, shard)).values() if d in FLOAT_DTYPES} - {
            "F16"
        }
        if wrong:
            raise TrainerError(f"{shard} in {merged_dir} still holds {', '.join(sorted(wrong))} tensors")


def save_merged(
    libs: Libraries, model: Any, tokenizer: Any, base: str, adapter_dir: str, output_dir: str, quantized: bool
) -> str:
    """Merges the adapter into the base and writes ``<output>/merged`` in float16; returns that folder."""
    merged_dir = merged_dir_of(output_dir)
    if os.path.lexists(merged_dir):
        shutil.rmtree(merged_dir)
    log(f"merging the adapter into the base: {merged_dir}")
    _write_merged(libs, model, tokenizer, base, adapter_dir, merged_dir, quantized)
    shards = check_merged(merged_dir)
    rewritten = ensure_float16(merged_dir, shards)
    if rewritten:
        log(f"rewrote {', '.join(rewritten)} as float16")
    _check_float16(merged_dir, shards)
    return merged_dir


def export(
    libs: Libraries,
    model: Any,
    tokenizer: Any,
    base: str,
    output_dir: str,
    mode: str,
    quantized: bool,
) -> Exported:
    """Saves the adapter, then (``merged``/``both``) the merged model; see the module docstring."""
    os.makedirs(output_dir, exist_ok=True)
    clear_stale_outputs(output_dir)
    adapter_dir = save_adapter(model, output_dir)
    if mode == "adapter":
        return Exported(adapter_dir, None)
    return Exported(
        adapter_dir, save_merged(libs, model, tokenizer, base, adapter_dir, output_dir, quantized)
    )
