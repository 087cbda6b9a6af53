#!/usr/bin/env python3
"""BAT OS fine-tuning trainer: LoRA on a persona's chat samples (the UnslothForge loop).

The bot runs this file as a child process and reads its standard output. That output is a
contract, shared by every trainer that ``FINETUNE_COMMAND`` may name instead of this one:

    train.py --dataset <train.jsonl> --base <hugging face id> --output <dir>
             [--config <json file | inline json object>] [--seed N]
    train.py --check <dataset.jsonl>
    train.py --self-test [--output <dir>] [--seed N]

* stdout carries only JSON objects, one per line, flushed per line:
  ``{"event":"start","total_steps":N,"backend":"unsloth|peft","samples":M}``,
  ``{"event":"progress","step":i,"total_steps":N,"loss":x,"learning_rate":y,"elapsed_s":s}``,
  ``{"event":"done","adapter_dir":"<dir>","final_loss":x,"steps":N}`` or
  ``{"event":"error","message":"..."}``. Library logs, warnings and progress bars go to
  stderr: the protocol is written to a duplicate of the original stdout descriptor, and
  descriptor 1 itself is pointed at stderr, so third-party prints cannot corrupt it.
* Exit status: 0 only after ``done``; 1 after an ``error`` event; 2 for a usage error
  (bad arguments or config), which also prints an ``error`` event.
* ``<output>/adapter_model.safetensors`` and ``<output>/adapter_config.json`` (PEFT layout)
  exist when ``done`` is printed.

Only the standard library is imported at module level, so ``--check`` and ``py_compile`` work
without torch; torch, transformers, peft and unsloth are imported inside the functions that
train. See README.md beside this file.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import inspect
import json
import math
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: Label value that the loss ignores (PyTorch's cross-entropy ``ignore_index``).
IGNORE_INDEX = -100
#: ``--check`` lists at most this many problems.
MAX_REPORTED_ERRORS = 20
#: Problems quoted in the error event when a training run finds an invalid dataset.
MAX_ERRORS_IN_EVENT = 3

ROLE_SYSTEM = "system"
ROLE_USER = "user"
ROLE_ASSISTANT = "assistant"
ROLES = (ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT)

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

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"

REQUIREMENTS_HINT = "pip install -r forge/finetune/requirements.txt"
#: What ``--self-test`` needs (import name -> pip package name).
SELF_TEST_PACKAGES = {
    "torch": "torch",
    "transformers": "transformers",
    "peft": "peft",
    "accelerate": "accelerate",
    "tokenizers": "tokenizers",
}


# --------------------------------------------------------------------------------------------
# Errors and the protocol stream
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; every field is an optional key of ``--config`` (defaults: the seed's).

    ``epochs``, when set, overrides ``max_steps``. ``backend`` is ``auto`` (Unsloth when it
    imports, else transformers + PEFT), ``unsloth`` or ``peft``.
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
    lora_alpha: float = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] | str = DEFAULT_TARGET_MODULES
    max_seq_length: int = 2048
    load_in_4bit: bool = True
    seed: int = 3407
    backend: str = "auto"


CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def _check_config_value(key: str, value: Any) -> str | None:
    """Returns why ``value`` is not acceptable for ``key``, or None."""
    positive_ints = ("max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "lora_r")
    if key in positive_ints:
        return None if _is_int(value) and value >= 1 else "must be an integer >= 1"
    if key == "max_seq_length":
        return None if _is_int(value) and value >= 16 else "must be an integer >= 16"
    if key == "warmup_steps":
        return None if _is_int(value) and value >= 0 else "must be an integer >= 0"
    if key == "seed":
        return None if _is_int(value) and value >= 0 else "must be an integer >= 0"
    if key in ("epochs", "learning_rate", "lora_alpha"):
        return None if _is_number(value) and value > 0 else "must be a number > 0"
    if key == "weight_decay":
        return None if _is_number(value) and value >= 0 else "must be a number >= 0"
    if key == "lora_dropout":
        return None if _is_number(value) and 0 <= value < 1 else "must be a number in [0, 1)"
    if key == "load_in_4bit":
        return None if isinstance(value, bool) else "must be true or false"
    if key == "backend":
        return None if value in BACKENDS else f"must be one of {', '.join(BACKENDS)}"
    if key == "lr_scheduler_type":
        return None if value in LR_SCHEDULERS else f"must be one of {', '.join(LR_SCHEDULERS)}"
    if key == "target_modules":
        if value == "all-linear":
            return None
        ok = isinstance(value, list) and value and all(isinstance(m, str) and m for m in value)
        return None if ok else 'must be a non-empty list of module names (or "all-linear")'
    return "is not a known key"


def parse_config(raw: Mapping[str, Any]) -> TrainConfig:
    """Validates a config object; raises UsageError listing every problem."""
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
    for key in ("learning_rate", "weight_decay", "lora_dropout", "lora_alpha", "epochs"):
        if key in values:
            values[key] = float(values[key])
    return TrainConfig(**values)


def load_config(spec: str | None) -> TrainConfig:
    """Reads ``--config``: inline JSON when it starts with ``{``, else a path to a JSON file."""
    if spec is None:
        return TrainConfig()
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
    return parse_config(raw)


# --------------------------------------------------------------------------------------------
# Dataset validation (standard library only)
# --------------------------------------------------------------------------------------------

Message = dict[str, str]


@dataclasses.dataclass(frozen=True)
class DatasetReport:
    """The outcome of reading a dataset: the conversations, or what is wrong with it."""

    conversations: list[list[Message]]
    assistant_turns: int
    errors: list[str]
    error_count: int

    @property
    def ok(self) -> bool:
        """True when the dataset has samples and no problem."""
        return self.error_count == 0


def check_sample(sample: Any) -> tuple[list[Message], list[str]]:
    """Checks one parsed JSONL line; returns (messages with role and content only, problems).

    Rules: ``messages`` is a non-empty list of ``{"role", "content"}`` objects; an optional
    system message comes first; then turns alternate user, assistant, user, ...; the last
    message is an assistant turn; every content is a non-empty string. ``meta`` and other
    keys are ignored.
    """
    if not isinstance(sample, dict):
        return [], ['expected a JSON object with a "messages" list']
    messages = sample.get("messages")
    if not isinstance(messages, list) or not messages:
        return [], ['"messages" must be a non-empty list']
    problems: list[str] = []
    cleaned: list[Message] = []
    expected = ROLE_USER
    for number, message in enumerate(messages, start=1):
        where = f"message {number}"
        if not isinstance(message, dict):
            problems.append(f'{where} must be an object with "role" and "content"')
            continue
        role = message.get("role")
        content = message.get("content")
        if role not in ROLES:
            problems.append(f"{where} has role {json.dumps(role)}; allowed: {', '.join(ROLES)}")
        elif role == ROLE_SYSTEM:
            if number != 1:
                problems.append(f"{where} is a system message; only the first message may be one")
        else:
            if role != expected:
                problems.append(
                    f"{where} has role {role} where {expected} was expected "
                    "(after the optional system message, turns alternate user, assistant)"
                )
            expected = ROLE_ASSISTANT if role == ROLE_USER else ROLE_USER
        if not isinstance(content, str):
            problems.append(f'{where} ({role}) needs "content" as a string')
        elif not content.strip():
            problems.append(f"{where} ({role}) has empty content")
        if isinstance(role, str) and isinstance(content, str):
            cleaned.append({"role": role, "content": content})
    roles = [m.get("role") for m in messages if isinstance(m, dict)]
    if ROLE_ASSISTANT not in roles:
        problems.append("has no assistant turn")
    elif roles[-1] != ROLE_ASSISTANT:
        problems.append("the last message must be an assistant turn")
    return cleaned, problems


def validate_dataset(path: str) -> DatasetReport:
    """Reads a JSONL dataset and checks every line (see ``check_sample``); blank lines are skipped."""
    errors: list[str] = []
    error_count = 0
    conversations: list[list[Message]] = []
    assistant_turns = 0

    def problem(text: str) -> None:
        nonlocal error_count
        error_count += 1
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(text)

    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with block below)
    except OSError as exc:
        problem(f"cannot read dataset {path}: {exc.strerror or exc}")
        return DatasetReport([], 0, errors, error_count)
    with handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem(f"line {line_number}: not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if line_number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                sample = json.loads(line)
            except json.JSONDecodeError as exc:
                problem(f"line {line_number}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            messages, problems = check_sample(sample)
            for text in problems:
                problem(f"line {line_number}: {text}")
            if not problems:
                conversations.append(messages)
                assistant_turns += sum(1 for m in messages if m["role"] == ROLE_ASSISTANT)
    if error_count == 0 and not conversations:
        problem(f"dataset {path} is empty: it has no samples")
    return DatasetReport(conversations, assistant_turns, errors, error_count)


def run_check(protocol: Protocol, path: str) -> int:
    """``--check``: prints ``{"ok":true,...}`` or ``{"ok":false,"errors":[...]}``."""
    report = validate_dataset(path)
    if report.ok:
        protocol.write(
            {"ok": True, "samples": len(report.conversations), "assistant_turns": report.assistant_turns}
        )
        return EXIT_OK
    protocol.write({"ok": False, "errors": report.errors, "error_count": report.error_count})
    return EXIT_FAILED


def _load_valid_dataset(path: str) -> DatasetReport:
    """Validates the training dataset; raises TrainerError quoting the first problems."""
    if not os.path.isfile(path):
        raise TrainerError(f"dataset not found: {path}")
    report = validate_dataset(path)
    if not report.ok:
        quoted = "; ".join(report.errors[:MAX_ERRORS_IN_EVENT])
        more = report.error_count - min(report.error_count, MAX_ERRORS_IN_EVENT)
        suffix = f" (and {more} more; run train.py --check {path})" if more else ""
        raise TrainerError(f"dataset {path} is invalid: {quoted}{suffix}")
    return report


# --------------------------------------------------------------------------------------------
# Chat template and loss masking (any tokenizer with apply_chat_template and __call__)
# --------------------------------------------------------------------------------------------


def render_chat(tokenizer: Any, messages: Sequence[Message], add_generation_prompt: bool) -> str:
    """Renders messages with the model's own chat template, as text."""
    text = tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
    )
    if not isinstance(text, str):
        raise TrainerError("the tokenizer's apply_chat_template(tokenize=False) did not return text")
    return text


def merge_system_message(messages: Sequence[Message]) -> list[Message]:
    """Folds a leading system message into the first user turn (for templates without a system role)."""
    if not messages or messages[0]["role"] != ROLE_SYSTEM:
        return list(messages)
    system, first, rest = messages[0], messages[1], messages[2:]
    merged = {"role": first["role"], "content": f"{system['content']}\n\n{first['content']}"}
    return [merged, *rest]


Span = tuple[int, int]


def plan_examples(tokenizer: Any, messages: Sequence[Message]) -> list[tuple[str, list[Span]]]:
    """Renders a conversation and finds the character spans of its assistant turns.

    For assistant turn k, the text before it is the template's rendering of messages[:k] with
    the generation prompt, and the text through it is the rendering of messages[:k+1]; the
    turn (with the template's end-of-turn marker) lies between the two lengths. When every such
    prefix is a prefix of the whole conversation, this gives one example with all the spans.
    Some templates rewrite earlier turns (e.g. strip reasoning from past assistant turns); then
    each assistant turn becomes its own example, with the earlier turns as masked context.
    """
    full = render_chat(tokenizer, messages, False)
    assistant_indices = [k for k, m in enumerate(messages) if m["role"] == ROLE_ASSISTANT]
    spans: list[Span] = []
    cursor = 0
    prefix_stable = True
    for k in assistant_indices:
        before = render_chat(tokenizer, messages[:k], True)
        through = render_chat(tokenizer, messages[: k + 1], False)
        if full.startswith(before) and full.startswith(through) and cursor <= len(before) < len(through):
            spans.append((len(before), len(through)))
            cursor = len(through)
        else:
            prefix_stable = False
            break
    if prefix_stable:
        return [(full, spans)]
    examples = []
    for k in assistant_indices:
        before = render_chat(tokenizer, messages[:k], True)
        through = render_chat(tokenizer, messages[: k + 1], False)
        if not through.startswith(before) or len(through) <= len(before):
            raise TrainerError(
                "the chat template renders an assistant turn in a way that does not extend the "
                "prompt before it, so the assistant tokens cannot be isolated for the loss"
            )
        examples.append((through, [(len(before), len(through))]))
    return examples


def encode(tokenizer: Any, text: str) -> list[int]:
    """Token ids of ``text`` without added BOS/EOS (the template writes its own special tokens)."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def tokenize_with_mask(tokenizer: Any, text: str, spans: Sequence[Span]) -> tuple[list[int], list[int]]:
    """Tokenizes ``text``; labels copy the ids inside ``spans`` and are IGNORE_INDEX elsewhere.

    A character boundary maps to a token position by tokenizing the text before it and taking
    the length it shares with the whole text's tokens, so this works for any tokenizer (fast
    or slow). A token that straddles a boundary goes to the later side.
    """
    ids = encode(tokenizer, text)
    positions: dict[int, int] = {}
    for boundary in sorted({b for span in spans for b in span}):
        if boundary <= 0:
            positions[boundary] = 0
        elif boundary >= len(text):
            positions[boundary] = len(ids)
        else:
            positions[boundary] = _common_prefix_length(ids, encode(tokenizer, text[:boundary]))
    labels = [IGNORE_INDEX] * len(ids)
    for start, end in spans:
        for i in range(positions[start], positions[end]):
            labels[i] = ids[i]
    return ids, labels


@dataclasses.dataclass
class ExampleStats:
    """How conversations became training examples."""

    conversations: int = 0
    examples: int = 0
    split_per_turn: int = 0
    system_merged: int = 0
    truncated: int = 0
    dropped: int = 0


def build_examples(
    tokenizer: Any, conversations: Sequence[Sequence[Message]], max_seq_length: int
) -> tuple[list[dict[str, list[int]]], ExampleStats]:
    """Turns conversations into ``{"input_ids", "labels"}`` examples (assistant tokens only in the loss).

    Examples longer than ``max_seq_length`` are cut at the end; one left with no assistant
    token is dropped.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise TrainerError(
            "the base model's tokenizer has no chat template; fine-tune an instruct/chat model "
            "(the samples are chat messages, and Ollama serves the adapter with the base's template)"
        )
    stats = ExampleStats()
    examples: list[dict[str, list[int]]] = []
    for messages in conversations:
        stats.conversations += 1
        try:
            planned = plan_examples(tokenizer, messages)
        except TrainerError:
            raise
        except Exception as exc:
            if messages[0]["role"] != ROLE_SYSTEM:
                raise TrainerError(
                    f"the chat template rejected a sample: {type(exc).__name__}: {exc}"
                ) from exc
            try:
                planned = plan_examples(tokenizer, merge_system_message(messages))
            except Exception as retry_exc:
                raise TrainerError(
                    f"the chat template rejected a sample: {type(retry_exc).__name__}: {retry_exc}"
                ) from retry_exc
            stats.system_merged += 1
        if len(planned) > 1:
            stats.split_per_turn += 1
        for text, spans in planned:
            ids, labels = tokenize_with_mask(tokenizer, text, spans)
            if len(ids) > max_seq_length:
                stats.truncated += 1
                ids, labels = ids[:max_seq_length], labels[:max_seq_length]
            if all(label == IGNORE_INDEX for label in labels):
                stats.dropped += 1
                continue
            examples.append({"input_ids": ids, "labels": labels})
    stats.examples = len(examples)
    if not examples:
        raise TrainerError(
            f"no example keeps an assistant token within max_seq_length={max_seq_length}; "
            "raise max_seq_length or shorten the samples"
        )
    return examples, stats


# --------------------------------------------------------------------------------------------
# Training (torch, transformers, peft and unsloth are imported here, lazily)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Libraries:
    """The imported training libraries; ``fast_language_model`` is Unsloth's, when used."""

    torch: Any
    transformers: Any
    peft: Any
    fast_language_model: Any | None
    backend: str


def import_libraries(requested_backend: str) -> Libraries:
    """Imports Unsloth (first, so it can patch transformers) when wanted and usable, then the rest."""
    fast_language_model = None
    if requested_backend in ("auto", "unsloth"):
        try:
            import unsloth  # noqa: F401  (must precede transformers: it patches it on import)
            from unsloth import FastLanguageModel

            fast_language_model = FastLanguageModel
        except Exception as exc:  # ImportError, or Unsloth's own error when it finds no GPU
            reason = f"{type(exc).__name__}: {exc}".strip()
            if requested_backend == "unsloth":
                raise TrainerError(
                    f"backend 'unsloth' was requested but Unsloth cannot be used ({reason}); "
                    "install it on a CUDA host (see forge/finetune/requirements.txt) or use backend 'auto'"
                ) from exc
            log(
                f"Unsloth is not available ({reason}); using the slower transformers + PEFT path "
                "(roughly 2x slower and more VRAM than Unsloth)"
            )
    try:
        import peft
        import torch
        import transformers
    except ImportError as exc:
        raise TrainerError(f"missing Python package {exc.name!r}: {REQUIREMENTS_HINT}") from exc
    backend = "unsloth" if fast_language_model is not None else "peft"
    return Libraries(torch, transformers, peft, fast_language_model, backend)


def _cuda_available(libs: Libraries) -> bool:
    return bool(libs.torch.cuda.is_available())


def _bf16_supported(libs: Libraries) -> bool:
    return _cuda_available(libs) and bool(libs.torch.cuda.is_bf16_supported())


def _bitsandbytes_usable(libs: Libraries) -> bool:
    return _cuda_available(libs) and importlib.util.find_spec("bitsandbytes") is not None


def _dtype_keyword(libs: Libraries) -> str:
    """``dtype`` since transformers 4.56 (``torch_dtype`` before, deprecated after)."""
    parts = libs.transformers.__version__.split(".")
    try:
        major, minor = int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
    except (IndexError, ValueError):
        return "dtype"
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def _is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return (
        type(exc).__name__ == "OutOfMemoryError"
        or "out of memory" in text
        or "cublas_status_alloc_failed" in text
    )


def _out_of_memory_message(stage: str, cfg: TrainConfig) -> str:
    return (
        f"CUDA out of memory while {stage}: lower per_device_train_batch_size "
        f"(now {cfg.per_device_train_batch_size}) or max_seq_length (now {cfg.max_seq_length}) "
        "and raise gradient_accumulation_steps to keep the effective batch; load_in_4bit=true "
        "or a smaller base also helps"
    )


def load_base(libs: Libraries, base: str, cfg: TrainConfig) -> tuple[Any, Any, bool]:
    """Loads the base model and its tokenizer; returns (model, tokenizer, quantized_4bit)."""
    torch = libs.torch
    if libs.fast_language_model is not None:
        model, tokenizer = libs.fast_language_model.from_pretrained(
            model_name=base,
            max_seq_length=cfg.max_seq_length,
            dtype=None,  # Unsloth picks bfloat16 where supported, else float16
            load_in_4bit=cfg.load_in_4bit,
        )
        return model, tokenizer, cfg.load_in_4bit
    transformers = libs.transformers
    tokenizer = transformers.AutoTokenizer.from_pretrained(base)
    kwargs: dict[str, Any] = {}
    quantized = False
    if _cuda_available(libs):
        compute_dtype = torch.bfloat16 if _bf16_supported(libs) else torch.float16
        if cfg.load_in_4bit and _bitsandbytes_usable(libs):
            kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=compute_dtype,
            )
            quantized = True
        elif cfg.load_in_4bit:
            log(
                "bitsandbytes is not installed: loading the base in 16-bit (needs about 4x the VRAM of 4-bit)"
            )
        kwargs[_dtype_keyword(libs)] = compute_dtype
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    else:
        log("no CUDA device: loading the base in full precision on the CPU (practical for tiny models only)")
        kwargs[_dtype_keyword(libs)] = torch.float32
    model = transformers.AutoModelForCausalLM.from_pretrained(base, **kwargs)
    return model, tokenizer, quantized


def chat_tokenizer(tokenizer: Any) -> Any:
    """The text tokenizer inside a multimodal processor, when the loader returned one."""
    inner = getattr(tokenizer, "tokenizer", None)
    if inner is not None and getattr(inner, "chat_template", None) and callable(inner):
        return inner
    return tokenizer


def _target_modules(cfg: TrainConfig) -> list[str] | str:
    return cfg.target_modules if isinstance(cfg.target_modules, str) else list(cfg.target_modules)


def apply_lora(libs: Libraries, model: Any, cfg: TrainConfig, quantized: bool) -> Any:
    """Wraps the model with LoRA adapters (Unsloth's or PEFT's) and gradient checkpointing."""
    if libs.fast_language_model is not None:
        target_modules = _target_modules(cfg)
        if isinstance(target_modules, str):  # Unsloth takes a list of names, not PEFT's "all-linear"
            log(f"Unsloth: target_modules {target_modules!r} becomes {', '.join(DEFAULT_TARGET_MODULES)}")
            target_modules = list(DEFAULT_TARGET_MODULES)
        return libs.fast_language_model.get_peft_model(
            model,
            r=cfg.lora_r,
            target_modules=target_modules,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            bias="none",
            use_gradient_checkpointing="unsloth",
            random_state=cfg.seed,
        )
    peft = libs.peft
    libs.transformers.set_seed(cfg.seed)
    if getattr(model, "config", None) is not None:
        model.config.use_cache = False
    checkpointing = {"use_reentrant": False}
    if quantized:
        model = peft.prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=True, gradient_checkpointing_kwargs=checkpointing
        )
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpointing)
        model.enable_input_require_grads()
    lora = peft.LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=_target_modules(cfg),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return peft.get_peft_model(model, lora)


def make_collator(libs: Libraries, pad_id: int) -> Callable[[list[dict[str, list[int]]]], dict[str, Any]]:
    """Right-pads a batch: pad ids for inputs, 0 in the attention mask, IGNORE_INDEX in labels."""
    torch = libs.torch

    def collate(features: list[dict[str, list[int]]]) -> dict[str, Any]:
        width = max(len(f["input_ids"]) for f in features)
        input_ids, attention, labels = [], [], []
        for f in features:
            pad = width - len(f["input_ids"])
            input_ids.append(f["input_ids"] + [pad_id] * pad)
            attention.append([1] * len(f["input_ids"]) + [0] * pad)
            labels.append(f["labels"] + [IGNORE_INDEX] * pad)
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "attention_mask": torch.tensor(attention, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
        }

    return collate


def make_progress_callback(libs: Libraries, protocol: Protocol, backend: str, samples: int) -> Any:
    """A TrainerCallback that prints ``start`` when training begins and ``progress`` per log."""

    callback_base: Any = libs.transformers.TrainerCallback

    class ProgressCallback(callback_base):
        """Speaks the protocol from the Trainer's events."""

        def __init__(self) -> None:
            self.losses: list[float] = []
            self._started = time.monotonic()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._started = time.monotonic()
            protocol.emit("start", total_steps=state.max_steps, backend=backend, samples=samples)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if not logs or "loss" not in logs:
                return
            loss = float(logs["loss"])
            self.losses.append(loss)
            learning_rate = logs.get("learning_rate")
            protocol.emit(
                "progress",
                step=state.global_step,
                total_steps=state.max_steps,
                loss=loss,
                learning_rate=None if learning_rate is None else float(learning_rate),
                elapsed_s=round(time.monotonic() - self._started, 3),
            )

    return ProgressCallback()


@dataclasses.dataclass(frozen=True)
class TrainOutcome:
    """What a finished run reports."""

    adapter_dir: str
    steps: int
    losses: list[float]

    @property
    def final_loss(self) -> float | None:
        """The last logged training loss."""
        return self.losses[-1] if self.losses else None


def _training_arguments(libs: Libraries, cfg: TrainConfig, scratch_dir: str) -> Any:
    transformers = libs.transformers
    cuda = _cuda_available(libs)
    bf16 = _bf16_supported(libs)
    wanted: dict[str, Any] = {
        "output_dir": scratch_dir,
        "per_device_train_batch_size": cfg.per_device_train_batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "warmup_steps": cfg.warmup_steps,
        "learning_rate": cfg.learning_rate,
        "weight_decay": cfg.weight_decay,
        "lr_scheduler_type": cfg.lr_scheduler_type,
        "optim": "adamw_8bit" if _bitsandbytes_usable(libs) else "adamw_torch",
        "seed": cfg.seed,
        "bf16": cuda and bf16,
        "fp16": cuda and not bf16,
        "logging_strategy": "steps",
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "remove_unused_columns": False,
        "dataloader_pin_memory": cuda,
    }
    if cfg.epochs is not None:
        wanted["num_train_epochs"] = cfg.epochs
        wanted["max_steps"] = -1
    else:
        wanted["max_steps"] = cfg.max_steps
    known = {f.name for f in dataclasses.fields(transformers.TrainingArguments)}
    skipped = sorted(set(wanted) - known)
    if skipped:
        log(f"this transformers version has no TrainingArguments {', '.join(skipped)}; left out")
    return transformers.TrainingArguments(**{k: v for k, v in wanted.items() if k in known})


def train_and_save(
    libs: Libraries,
    protocol: Protocol,
    model: Any,
    tokenizer: Any,
    examples: list[dict[str, list[int]]],
    cfg: TrainConfig,
    output_dir: str,
) -> TrainOutcome:
    """Trains with a transformers Trainer (the callback prints start/progress), then saves the adapter."""
    transformers = libs.transformers
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    callback = make_progress_callback(libs, protocol, libs.backend, len(examples))
    with tempfile.TemporaryDirectory(prefix="bat-os-trainer-") as scratch_dir:
        trainer_kwargs: dict[str, Any] = {
            "model": model,
            "args": _training_arguments(libs, cfg, scratch_dir),
            "train_dataset": examples,
            "data_collator": make_collator(libs, int(pad_id)),
            "callbacks": [callback],
        }
        parameters = inspect.signature(transformers.Trainer.__init__).parameters
        if "processing_class" in parameters:
            trainer_kwargs["processing_class"] = tokenizer
        elif "tokenizer" in parameters:
            trainer_kwargs["tokenizer"] = tokenizer
        trainer = transformers.Trainer(**trainer_kwargs)
        trainer.train()
        steps = int(trainer.state.global_step)
    os.makedirs(output_dir, exist_ok=True)
    for stale in (ADAPTER_WEIGHTS, ADAPTER_CONFIG, "adapter_model.bin"):  # never report an old adapter
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(output_dir, stale))
    model.save_pretrained(output_dir, safe_serialization=True)
    missing = [
        name
        for name in (ADAPTER_WEIGHTS, ADAPTER_CONFIG)
        if not os.path.isfile(os.path.join(output_dir, name))
    ]
    if missing:
        found = ", ".join(sorted(os.listdir(output_dir))) or "nothing"
        raise TrainerError(
            f"the adapter was saved without {', '.join(missing)} in {output_dir} (found: {found})"
        )
    return TrainOutcome(os.path.abspath(output_dir), steps, list(callback.losses))


def run_training(protocol: Protocol, dataset: str, base: str, output_dir: str, cfg: TrainConfig) -> int:
    """A real fine-tune: validate, load, mask, train, save; prints start/progress/done."""
    report = _load_valid_dataset(dataset)
    log(f"dataset {dataset}: {len(report.conversations)} samples, {report.assistant_turns} assistant turns")
    libs = import_libraries(cfg.backend)
    log(f"backend: {libs.backend}; CUDA: {'yes' if _cuda_available(libs) else 'no'}")
    try:
        model, tokenizer, quantized = load_base(libs, base, cfg)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if _is_out_of_memory(exc):
            raise TrainerError(_out_of_memory_message(f"loading base model {base!r}", cfg)) from exc
        log(traceback.format_exc())
        raise TrainerError(f"could not load base model {base!r}: {type(exc).__name__}: {exc}") from exc
    text_tokenizer = chat_tokenizer(tokenizer)
    examples, stats = build_examples(text_tokenizer, report.conversations, cfg.max_seq_length)
    log(f"examples: {dataclasses.asdict(stats)}")
    try:
        model = apply_lora(libs, model, cfg, quantized)
        outcome = train_and_save(libs, protocol, model, text_tokenizer, examples, cfg, output_dir)
    except (KeyboardInterrupt, TrainerError):
        raise
    except Exception as exc:
        if _is_out_of_memory(exc):
            raise TrainerError(_out_of_memory_message("training", cfg)) from exc
        log(traceback.format_exc())
        raise TrainerError(f"training failed: {type(exc).__name__}: {exc}") from exc
    protocol.emit("done", adapter_dir=outcome.adapter_dir, final_loss=outcome.final_loss, steps=outcome.steps)
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# Self-test: a tiny random model through the same masking, callback and save path
# --------------------------------------------------------------------------------------------

SELF_TEST_CONFIG = TrainConfig(
    max_steps=30,
    learning_rate=5e-3,
    per_device_train_batch_size=4,
    gradient_accumulation_steps=1,
    warmup_steps=2,
    weight_decay=0.0,
    lora_r=8,
    lora_alpha=16,
    max_seq_length=256,
    load_in_4bit=False,
    backend="peft",
)
SELF_TEST_SPECIAL_TOKENS = (
    "<pad>",
    "<unk>",
    "<s>",
    "</s>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|end|>",
)
#: A minimal chat template: <|role|>content<|end|> per message, "<|assistant|>" as generation prompt.
SELF_TEST_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
#: The loss must fall below this fraction of its first logged value.
SELF_TEST_REQUIRED_DROP = 0.5


def build_self_test_tokenizer(transformers: Any) -> Any:
    """A character-level fast tokenizer built in code (no download), with a chat template."""
    import string

    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    alphabet = sorted(set(string.printable))
    vocab = {token: index for index, token in enumerate([*SELF_TEST_SPECIAL_TOKENS, *alphabet])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens(list(SELF_TEST_SPECIAL_TOKENS))
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    tokenizer.chat_template = SELF_TEST_CHAT_TEMPLATE
    return tokenizer


def build_self_test_model(libs: Libraries, tokenizer: Any, seed: int) -> Any:
    """A 2-layer Llama with random weights (same seed -> same weights)."""
    transformers = libs.transformers
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=SELF_TEST_CONFIG.max_seq_length,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        initializer_range=0.2,
    )
    libs.torch.manual_seed(seed)
    return transformers.LlamaForCausalLM(config)


def write_self_test_dataset(path: str) -> None:
    """A small synthetic chat dataset: single- and multi-turn, with and without a system message."""
    samples = []
    for i in range(24):
        messages = [
            {"role": "user", "content": f"Status report {i}?"},
            {"role": "assistant", "content": "All systems nominal."},
        ]
        if i % 2 == 0:
            messages.insert(0, {"role": "system", "content": "You are BRICK."})
        if i % 3 == 0:
            messages += [
                {"role": "user", "content": "And the bats?"},
                {"role": "assistant", "content": "Bats nominal."},
            ]
        samples.append({"messages": messages, "meta": {"source": "self-test", "index": i}})
    with open(path, "w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(sample) + "\n")


def _missing_self_test_packages() -> list[str]:
    missing = []
    for module, package in SELF_TEST_PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(package)
    return missing


def run_self_test(protocol: Protocol, output_dir: str | None, seed: int) -> int:
    """``--self-test``: trains a tiny random model end to end and reloads its adapter.

    Prints the usual protocol lines, then one ``self_test`` event: ``ok: true``; ``ok: false``
    with ``skipped: true`` (exit 0) when the libraries are missing; or ``ok: false`` (exit 1).
    """
    missing = _missing_self_test_packages()
    if missing:
        message = (
            f"self-test skipped: missing Python packages {', '.join(missing)}; "
            f"install them with `{REQUIREMENTS_HINT}` (in a venv) and run --self-test again"
        )
        log(message)
        protocol.emit("self_test", ok=False, skipped=True, message=message)
        return EXIT_OK
    try:
        return _run_self_test(protocol, output_dir, seed)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        log(traceback.format_exc())
        message = str(exc) if isinstance(exc, TrainerError) else f"{type(exc).__name__}: {exc}"
        log(f"self-test FAILED: {message}")
        protocol.emit("self_test", ok=False, message=message)
        return EXIT_FAILED


def _run_self_test(protocol: Protocol, output_dir: str | None, seed: int) -> int:
    cfg = dataclasses.replace(SELF_TEST_CONFIG, seed=seed)
    libs = import_libraries("peft")
    torch = libs.torch
    device = "cuda" if _cuda_available(libs) else "cpu"
    versions = ", ".join(f"{m.__name__} {m.__version__}" for m in (torch, libs.transformers, libs.peft))
    log(f"self-test on {device} with {versions}")
    with tempfile.TemporaryDirectory(prefix="bat-os-self-test-") as work_dir:
        adapter_dir = output_dir or os.path.join(work_dir, "adapter")
        dataset = os.path.join(work_dir, "train.jsonl")
        write_self_test_dataset(dataset)
        report = _load_valid_dataset(dataset)
        tokenizer = build_self_test_tokenizer(libs.transformers)
        examples, stats = build_examples(tokenizer, report.conversations, cfg.max_seq_length)
        _check_self_test_masking(tokenizer, examples)
        model = apply_lora(libs, build_self_test_model(libs, tokenizer, seed), cfg, quantized=False)
        outcome = train_and_save(libs, protocol, model, tokenizer, examples, cfg, adapter_dir)
        protocol.emit(
            "done", adapter_dir=outcome.adapter_dir, final_loss=outcome.final_loss, steps=outcome.steps
        )
        failures = _self_test_failures(libs, outcome, model, tokenizer, seed)
    summary = {
        "backend": libs.backend,
        "device": device,
        "steps": outcome.steps,
        "examples": stats.examples,
        "initial_loss": outcome.losses[0] if outcome.losses else None,
        "final_loss": outcome.final_loss,
    }
    if failures:
        message = "; ".join(failures)
        log(f"self-test FAILED: {message}")
        protocol.emit("self_test", ok=False, message=message, **summary)
        return EXIT_FAILED
    log("self-test passed: the loss fell and the saved adapter loads back with the same weights")
    protocol.emit("self_test", ok=True, adapter_reloaded=True, **summary)
    return EXIT_OK


def _check_self_test_masking(tokenizer: Any, examples: list[dict[str, list[int]]]) -> None:
    """Every trained token must lie inside an assistant turn: decode them and compare."""
    for example in examples:
        trained = [
            i
            for i, label in zip(example["input_ids"], example["labels"], strict=True)
            if label != IGNORE_INDEX
        ]
        text = tokenizer.decode(trained)
        allowed = text.replace("All systems nominal.", "").replace("Bats nominal.", "")
        allowed = allowed.replace("<|end|>", "").replace("\n", "")
        if allowed:
            raise TrainerError(f"self-test masking trained on non-assistant text: {text!r}")


def _self_test_failures(
    libs: Libraries, outcome: TrainOutcome, model: Any, tokenizer: Any, seed: int
) -> list[str]:
    """Checks that the loss fell and that the saved adapter reloads with the trained weights."""
    failures = []
    torch = libs.torch
    peft = libs.peft
    if len(outcome.losses) < 4:
        failures.append(f"only {len(outcome.losses)} progress events were logged")
    else:
        first, last = outcome.losses[0], sum(outcome.losses[-3:]) / 3
        if not last < first * SELF_TEST_REQUIRED_DROP:
            failures.append(f"the loss did not fall enough: first {first:.4f}, last three average {last:.4f}")
    trained_state = peft.get_peft_model_state_dict(model)
    if not any("lora_B" in name and bool(tensor.abs().sum() > 0) for name, tensor in trained_state.items()):
        failures.append("training left every lora_B matrix at zero")
    fresh_base = build_self_test_model(libs, tokenizer, seed)
    reloaded = peft.PeftModel.from_pretrained(fresh_base, outcome.adapter_dir)
    reloaded_state = peft.get_peft_model_state_dict(reloaded)
    if set(reloaded_state) != set(trained_state):
        failures.append("the reloaded adapter has different tensors from the trained one")
    else:
        for name, tensor in trained_state.items():
            if not torch.allclose(tensor.detach().float().cpu(), reloaded_state[name].detach().float().cpu()):
                failures.append(f"tensor {name} differs after reloading")
                break
    model.eval()
    reloaded.eval()
    device = next(model.parameters()).device
    reloaded.to(device)
    sample = tokenizer(
        "<|user|>Status report 1?<|end|>\n<|assistant|>", add_special_tokens=False, return_tensors="pt"
    )
    with torch.no_grad():
        expected = model(input_ids=sample["input_ids"].to(device)).logits.float()
        actual = reloaded(input_ids=sample["input_ids"].to(device)).logits.float()
    if not torch.allclose(expected, actual, atol=1e-4, rtol=1e-3):
        failures.append("the reloaded adapter gives different logits from the trained model")
    return failures


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The command line; see the module docstring."""
    parser = _Parser(
        prog="train.py",
        description="LoRA fine-tune of a chat model on BAT OS samples; JSON events on stdout.",
    )
    parser.add_argument("--dataset", help="training samples, JSONL of {messages, meta}")
    parser.add_argument("--base", help="the base model: a Hugging Face id or a local folder")
    parser.add_argument("--output", help="the folder for adapter_model.safetensors + adapter_config.json")
    parser.add_argument("--config", help="hyper-parameters: a JSON file, or an inline JSON object")
    parser.add_argument("--seed", type=int, help="random seed (overrides the config's seed)")
    parser.add_argument(
        "--check", metavar="DATASET", help="validate a dataset and exit (standard library only)"
    )
    parser.add_argument("--self-test", action="store_true", help="train a tiny random model end to end")
    return parser


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _dispatch(protocol: Protocol, args: argparse.Namespace) -> int:
    if args.check is not None:
        extra = [
            flag
            for flag, value in (
                ("--dataset", args.dataset),
                ("--base", args.base),
                ("--output", args.output),
                ("--config", args.config),
            )
            if value is not None
        ]
        if extra or args.self_test:
            raise UsageError(
                f"--check takes only a dataset path (also got {', '.join(extra) or '--self-test'})"
            )
        return run_check(protocol, args.check)
    signal.signal(signal.SIGTERM, _interrupt)
    if args.self_test:
        extra = [
            flag
            for flag, value in (("--dataset", args.dataset), ("--base", args.base), ("--config", args.config))
            if value is not None
        ]
        if extra:
            raise UsageError(f"--self-test takes only --output and --seed (also got {', '.join(extra)})")
        return run_self_test(protocol, args.output, SELF_TEST_CONFIG.seed if args.seed is None else args.seed)
    missing = [
        flag
        for flag, value in (("--dataset", args.dataset), ("--base", args.base), ("--output", args.output))
        if not value
    ]
    if missing:
        raise UsageError(
            f"missing {', '.join(missing)} "
            "(usage: train.py --dataset FILE --base MODEL --output DIR [--config JSON] [--seed N])"
        )
    cfg = load_config(args.config)
    if args.seed is not None:
        if args.seed < 0:
            raise UsageError("--seed must be >= 0")
        cfg = dataclasses.replace(cfg, seed=args.seed)
    return run_training(protocol, args.dataset, args.base, args.output, cfg)


def _report_error(protocol: Protocol, message: str) -> None:
    """Prints the error event; a reader that has gone away (broken pipe) is ignored."""
    with contextlib.suppress(OSError):
        protocol.emit("error", message=message)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit status."""
    protocol = Protocol(open_protocol_stream())
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(protocol, args)
    except UsageError as exc:
        log(f"usage error: {exc}")
        _report_error(protocol, f"usage: {exc}")
        return EXIT_USAGE
    except TrainerError as exc:
        log(f"error: {exc}")
        _report_error(protocol, str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        log("interrupted")
        _report_error(protocol, "interrupted")
        return EXIT_FAILED
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:
        log(traceback.format_exc())
        _report_error(protocol, f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
