"""Training: the collator, the progress callback, TrainingArguments, ``fine_tune``, ``run_training``.

The libraries come in through ``model.import_libraries``; nothing heavy is imported here.
"""

from __future__ import annotations

import dataclasses
import inspect
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

from .config import TrainConfig
from .dataset import _load_valid_dataset
from .export import clear_stale_outputs, export, save_adapter
from .model import (
    Libraries,
    _bf16_supported,
    _bitsandbytes_usable,
    _cuda_available,
    apply_lora,
    chat_tokenizer,
    import_libraries,
    load_base,
)
from .protocol import EXIT_OK, Protocol, TrainerError, log
from .tokenizing import IGNORE_INDEX, build_examples


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
    """What a finished run reports; ``merged_dir`` is None when no merged model was written."""

    adapter_dir: str
    steps: int
    losses: list[float]
    merged_dir: str | None = None

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


def train_model(
    libs: Libraries,
    protocol: Protocol,
    model: Any,
    tokenizer: Any,
    examples: list[dict[str, list[int]]],
    cfg: TrainConfig,
) -> tuple[int, list[float]]:
    """Trains with a transformers Trainer (the callback prints start/progress); returns (steps, losses)."""
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
    return steps, list(callback.losses)


def train_and_save(
    libs: Libraries,
    protocol: Protocol,
    model: Any,
    tokenizer: Any,
    examples: list[dict[str, list[int]]],
    cfg: TrainConfig,
    output_dir: str,
) -> TrainOutcome:
    """Trains, then saves the adapter only (the self-test's path; runs go through ``fine_tune``)."""
    steps, losses = train_model(libs, protocol, model, tokenizer, examples, cfg)
    clear_stale_outputs(output_dir)
    return TrainOutcome(save_adapter(model, output_dir), steps, losses)


def emit_done(protocol: Protocol, outcome: TrainOutcome) -> None:
    """The ``done`` event; ``merged_dir`` only when a merged model was written."""
    fields: dict[str, Any] = {"adapter_dir": outcome.adapter_dir}
    if outcome.merged_dir is not None:
        fields["merged_dir"] = outcome.merged_dir
    protocol.emit("done", **fields, final_loss=outcome.final_loss, steps=outcome.steps)


def _load(libs: Libraries, base: str, cfg: TrainConfig) -> tuple[Any, Any, bool]:
    try:
        return load_base(libs, base, cfg)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if _is_out_of_memory(exc):
            raise TrainerError(_out_of_memory_message(f"loading base model {base!r}", cfg)) from exc
        log(traceback.format_exc())
        raise TrainerError(f"could not load base model {base!r}: {type(exc).__name__}: {exc}") from exc


def fine_tune(
    protocol: Protocol, dataset: str, base: str, output_dir: str, cfg: TrainConfig, export_mode: str
) -> TrainOutcome:
    """Validate, load, mask, train, export (see ``export``); prints start/progress, not done."""
    report = _load_valid_dataset(dataset)
    log(f"dataset {dataset}: {len(report.conversations)} samples, {report.assistant_turns} assistant turns")
    libs = import_libraries(cfg.backend)
    log(f"backend: {libs.backend}; CUDA: {'yes' if _cuda_available(libs) else 'no'}; export: {export_mode}")
    model, tokenizer, quantized = _load(libs, base, cfg)
    text_tokenizer = chat_tokenizer(tokenizer)
    examples, stats = build_examples(
        text_tokenizer, report.conversations, cfg.max_seq_length, cfg.prompt_format
    )
    log(f"examples: {dataclasses.asdict(stats)}")
    stage = "training"
    try:
        model = apply_lora(libs, model, cfg, quantized)
        steps, losses = train_model(libs, protocol, model, text_tokenizer, examples, cfg)
        stage = "exporting"
        exported = export(libs, model, tokenizer, base, output_dir, export_mode, quantized)
    except (KeyboardInterrupt, TrainerError):
        raise
    except Exception as exc:
        if _is_out_of_memory(exc) and stage == "training":
            raise TrainerError(_out_of_memory_message(stage, cfg)) from exc
        if _is_out_of_memory(exc):
            raise TrainerError(
                "CUDA out of memory while merging the adapter into the base: free the GPU "
                "(unload the served models) and run again, or use --export adapter"
            ) from exc
        log(traceback.format_exc())
        what = "training" if stage == "training" else "exporting the model"
        raise TrainerError(f"{what} failed: {type(exc).__name__}: {exc}") from exc
    return TrainOutcome(exported.adapter_dir, steps, losses, exported.merged_dir)


def run_training(
    protocol: Protocol, dataset: str, base: str, output_dir: str, cfg: TrainConfig, export_mode: str = "both"
) -> int:
    """A real fine-tune: ``fine_tune``, then the ``done`` event."""
    emit_done(protocol, fine_tune(protocol, dataset, base, output_dir, cfg, export_mode))
    return EXIT_OK
