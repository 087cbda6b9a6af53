"""The stand-in Trainer: TrainingArguments (real field names), callbacks, a loss that falls.

``Trainer.train`` runs the collator on every batch, reports a falling loss through the
callbacks as the real Trainer does, and records what each example trains on (decoded with the
processing class): the whole text and the tokens whose label is not -100.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from pystub_record import record, recorded


@dataclasses.dataclass
class TrainingArguments:
    """The fields train.py sets, named as in transformers 5.17.0's TrainingArguments."""

    output_dir: str | None = None
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    num_train_epochs: float = 3.0
    max_steps: int = -1
    lr_scheduler_type: str = "linear"
    warmup_steps: float = 0
    logging_strategy: str = "steps"
    logging_steps: float = 500
    save_strategy: str = "steps"
    seed: int = 42
    bf16: bool = False
    fp16: bool = False
    optim: str = "adamw_torch"
    report_to: Any = "none"
    remove_unused_columns: bool = True
    dataloader_pin_memory: bool = True

    def __post_init__(self) -> None:
        record("transformers.TrainingArguments", dataclasses.asdict(self))


@dataclasses.dataclass
class TrainerState:
    global_step: int = 0
    max_steps: int = 0


@dataclasses.dataclass
class TrainerControl:
    should_training_stop: bool = False


class TrainerCallback:
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        return None

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        return None


class Trainer:
    @recorded("transformers.Trainer", skip_self=True, omit=("train_dataset",))
    def __init__(
        self,
        model: Any = None,
        args: TrainingArguments | None = None,
        data_collator: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        model_init: Any = None,
        compute_loss_func: Any = None,
        compute_metrics: Any = None,
        callbacks: list[TrainerCallback] | None = None,
        optimizers: tuple[Any, Any] = (None, None),
        optimizer_cls_and_kwargs: Any = None,
        preprocess_logits_for_metrics: Any = None,
    ) -> None:
        assert args is not None and train_dataset is not None and data_collator is not None
        self.model = model
        self.args = args
        self.data_collator = data_collator
        self.train_dataset = list(train_dataset)
        self.processing_class = processing_class
        self.callbacks = callbacks or []
        self.state = TrainerState()

    def _max_steps(self) -> int:
        if self.args.max_steps > 0:
            return self.args.max_steps
        per_step = self.args.per_device_train_batch_size * self.args.gradient_accumulation_steps
        return max(1, math.ceil(len(self.train_dataset) / per_step * self.args.num_train_epochs))

    def _record_examples(self) -> None:
        decode = self.processing_class.decode
        record(
            "transformers.Trainer.train_dataset",
            {
                "examples": [
                    {
                        "text": decode(e["input_ids"]),
                        "trained": decode(
                            [i for i, label in zip(e["input_ids"], e["labels"], strict=True) if label != -100]
                        ),
                    }
                    for e in self.train_dataset
                ]
            },
        )

    @recorded("transformers.Trainer.train", skip_self=True)
    def train(
        self, resume_from_checkpoint: Any = None, trial: Any = None, ignore_keys_for_eval: Any = None
    ) -> None:
        self._record_examples()
        self.state.max_steps = self._max_steps()
        control = TrainerControl()
        for callback in self.callbacks:
            callback.on_train_begin(self.args, self.state, control)
        batch = self.args.per_device_train_batch_size
        for step in range(1, self.state.max_steps + 1):
            start = ((step - 1) * batch) % len(self.train_dataset)
            features = (self.train_dataset * 2)[start : start + batch]
            collated = self.data_collator(features)
            assert collated["input_ids"].shape == collated["labels"].shape
            self.state.global_step = step
            logs = {"loss": round(2.0 * 0.8**step, 6), "learning_rate": self.args.learning_rate}
            for callback in self.callbacks:
                callback.on_log(self.args, self.state, control, logs=logs)


@recorded("transformers.set_seed")
def set_seed(seed: int, deterministic: bool = False) -> None:
    return None
