"""Hyper-parameters: ``TrainConfig`` and the parsing and validation of ``--config``."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from .protocol import UsageError

BACKENDS = ("auto", "unsloth", "peft")
LR_SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
)
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
#: ``prompt_format``: ``ollama`` renders the training prompts as Ollama's template for the base
#: does (see ``chat_format``); ``hf`` keeps the Hugging Face chat template's output as it is.
PROMPT_FORMATS = ("ollama", "hf")
#: ``--export``: what a training run leaves in ``--output``.
EXPORT_MODES = ("adapter", "merged", "both")
#: The integer hyper-parameters. JSON has one number type, and a caller that wrote ``32.0`` means
#: 32; the adapter's config must say 32 all the same, because Ollama's converter reads ``r`` and
#: ``lora_alpha`` as integers and rejects ``32.0``.
INTEGER_KEYS = (
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "warmup_steps",
    "lora_r",
    "lora_alpha",
    "max_seq_length",
    "seed",
)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; every field is an optional key of ``--config`` (defaults: the seed's).

    ``epochs``, when set, overrides ``max_steps``. ``backend`` is ``auto`` (Unsloth when it
    imports, else transformers + PEFT), ``unsloth`` or ``peft``. ``load_in_4bit`` asks for QLoRA
    (a 4-bit base); the default is LoRA on 16-bit weights, which Ollama's import guide prefers
    and which merges without a reload.
    """

    max_steps: int = 60
    epochs: float | None = None
    learning_rate: float = 2e-4
    per_device_train_batch_size: int = 2
    gradient_accumulation_steps: int = 4
    warmup_steps: int = 5
    weight_decay: float = 0.01
    lr_scheduler_type: str = "linear"
    lora_r: int = 16
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] | str = DEFAULT_TARGET_MODULES
    max_seq_length: int = 2048
    load_in_4bit: bool = False
    seed: int = 3407
    backend: str = "auto"
    prompt_format: str = "ollama"


CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig))


def _is_int(value: Any) -> bool:
    """An integer, or a float with no fractional part (JSON's ``32.0``)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def _check_config_value(key: str, value: Any) -> str | None:
    """Returns why ``value`` is not acceptable for ``key``, or None."""
    positive_ints = (
        "max_steps",
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "lora_r",
        "lora_alpha",
    )
    if key in positive_ints:
        return None if _is_int(value) and value >= 1 else "must be an integer >= 1"
    if key == "max_seq_length":
        return None if _is_int(value) and value >= 16 else "must be an integer >= 16"
    if key == "warmup_steps":
        return None if _is_int(value) and value >= 0 else "must be an integer >= 0"
    if key == "seed":
        return None if _is_int(value) and value >= 0 else "must be an integer >= 0"
    if key in ("epochs", "learning_rate"):
        return None if _is_number(value) and value > 0 else "must be a number > 0"
    if key == "weight_decay":
        return None if _is_number(value) and value >= 0 else "must be a number >= 0"
    if key == "lora_dropout":
        return None if _is_number(value) and 0 <= value < 1 else "must be a number in [0, 1)"
    if key == "load_in_4bit":
        return None if isinstance(value, bool) else "must be true or false"
    if key == "backend":
        return None if value in BACKENDS else f"must be one of {', '.join(BACKENDS)}"
    if key == "prompt_format":
        return None if value in PROMPT_FORMATS else f"must be one of {', '.join(PROMPT_FORMATS)}"
    if key == "lr_scheduler_type":
        return None if value in LR_SCHEDULERS else f"must be one of {', '.join(LR_SCHEDULERS)}"
    if key == "target_modules":
        if value == "all-linear":
            return None
        ok = isinstance(value, list) and value and all(isinstance(m, str) and m for m in value)
        return None if ok else 'must be a non-empty list of module names (or "all-linear")'
    return "is not a known key"


def parse_config(raw: Mapping[str, Any], defaults: TrainConfig | None = None) -> TrainConfig:
    """Validates a config object; raises UsageError listing every problem.

    Keys left out keep their value in ``defaults`` (``TrainConfig()`` when not given).
    """
    problems = []
    for key in raw:
        if key not in CONFIG_KEYS:
            problems.append(f"unknown config key {key!r} (known: {', '.join(CONFIG_KEYS)})")
            continue
        reason = _check_config_value(key, raw[key])
        if reason:
            problems.append(f"config key {key!r} {reason} (got {json.dumps(raw[key])})")
    if problems:
        raise UsageError("; ".join(problems))
    values = dict(raw)
    if isinstance(values.get("target_modules"), list):
        values["target_modules"] = tuple(values["target_modules"])
    for key in INTEGER_KEYS:
        if key in values:
            values[key] = int(values[key])
    for key in ("learning_rate", "weight_decay", "lora_dropout", "epochs"):
        if key in values:
            values[key] = float(values[key])
    return dataclasses.replace(defaults or TrainConfig(), **values)


def load_config(spec: str | None, defaults: TrainConfig | None = None) -> TrainConfig:
    """Reads ``--config``: inline JSON when it starts with ``{``, else a path to a JSON file."""
    if spec is None:
        return defaults or TrainConfig()
    if spec.lstrip().startswith("{"):
        source, text = "inline --config", spec
    else:
        source = f"config file {spec}"
        try:
            with open(spec, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(raw, dict):
        raise UsageError(f"{source} must be a JSON object")
    return parse_config(raw, defaults)
