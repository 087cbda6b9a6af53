"""Recording stand-in for transformers 5.17.0 (see pystub_record): auto classes, a model, the Trainer.

A base is a local folder with ``config.json`` and ``tokenizer_config.json`` (see
chat_fixtures.write_base). The model holds four small tensors; ``save_pretrained`` writes them
in the model's dtype as ``model.safetensors``, with ``config.json`` (``dtype``, as transformers 5
writes it) and ``generation_config.json``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch
from pystub_record import record_import, recorded, write_json, write_safetensors

from ._tokenizer import PreTrainedTokenizerFast
from ._trainer import Trainer, TrainerCallback, TrainerControl, TrainerState, TrainingArguments, set_seed

__version__ = "5.17.0"
record_import("transformers", __file__)

__all__ = [
    "AutoModelForCausalLM",
    "AutoTokenizer",
    "BitsAndBytesConfig",
    "PreTrainedModel",
    "PreTrainedTokenizerFast",
    "Trainer",
    "TrainerCallback",
    "TrainerControl",
    "TrainerState",
    "TrainingArguments",
    "set_seed",
]

#: The base's weights: name -> (shape, values). Values that bfloat16 and float16 hold exactly.
BASE_TENSORS = {
    "model.embed_tokens.weight": ([4, 2], [1.0, -2.0, 0.5, 3.0, 0.25, -1.0, 2.0, 1.5]),
    "model.layers.0.self_attn.q_proj.weight": ([2, 2], [0.5, -0.5, 1.0, 2.0]),
    "model.norm.weight": ([2], [1.0, 1.0]),
    "lm_head.weight": ([4, 2], [1.0, -2.0, 0.5, 3.0, 0.25, -1.0, 2.0, 1.5]),
}
_LOAD_KWARGS = (
    "dtype",
    "torch_dtype",
    "device_map",
    "quantization_config",
    "low_cpu_mem_usage",
    "attn_implementation",
    "trust_remote_code",
    "revision",
    "token",
)
_counter = [0]


def _require_folder(path: str, file: str) -> str:
    if not os.path.isfile(os.path.join(path, file)):
        raise OSError(f"{path} is not a local folder and is not a valid model identifier (no {file})")
    return path


class PretrainedConfig:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PreTrainedModel:
    """A loaded causal LM: its config, dtype, where it came from, and whether LoRA was merged into it."""

    def __init__(self, source: str, dtype: Any, quantized: bool, merged: bool = False) -> None:
        with open(os.path.join(source, "config.json"), encoding="utf-8") as handle:
            self.config = PretrainedConfig(json.load(handle))
        self.source = source
        self.dtype = dtype
        self.quantized = quantized
        self.merged = merged
        _counter[0] += 1
        self.number = _counter[0]

    @property
    def pystub_label(self) -> str:
        state = "merged" if self.merged else ("4bit" if self.quantized else str(self.dtype))
        return f"model#{self.number}({state})"

    @recorded("transformers.PreTrainedModel.gradient_checkpointing_enable", skip_self=True)
    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: dict[str, Any] | None = None
    ) -> None:
        return None

    @recorded("transformers.PreTrainedModel.enable_input_require_grads", skip_self=True)
    def enable_input_require_grads(self) -> None:
        return None

    @recorded("transformers.PreTrainedModel.to", skip_self=True)
    def to(self, *args: Any, **kwargs: Any) -> PreTrainedModel:
        for value in (*args, kwargs.get("dtype")):
            if isinstance(value, torch.dtype):
                if self.quantized:
                    raise ValueError("`.to` is not supported for `4-bit` or `8-bit` bitsandbytes models")
                self.dtype = value
        return self

    def state_tensors(self) -> dict[str, tuple[str, list[int], list[float]]]:
        """The weights in this model's dtype (a merged model's differ: LoRA's update was added)."""
        dtype = self.dtype.safetensors if self.dtype is not None else "F32"
        shift = 0.25 if self.merged else 0.0
        return {
            name: (dtype, shape, [v + shift for v in values])
            for name, (shape, values) in BASE_TENSORS.items()
        }

    @recorded("transformers.PreTrainedModel.save_pretrained", accepts=("safe_serialization",), skip_self=True)
    def save_pretrained(
        self,
        save_directory: str,
        is_main_process: bool = True,
        state_dict: dict | None = None,
        push_to_hub: bool = False,
        max_shard_size: int | str = "50GB",
        variant: str | None = None,
        token: str | bool | None = None,
        save_peft_format: bool = True,
        save_original_format: bool = True,
        distributed_checkpoint: bool = False,
        **kwargs: Any,
    ) -> None:
        os.makedirs(save_directory, exist_ok=True)
        config = self.config.to_dict()
        config.pop("torch_dtype", None)
        config["dtype"] = self.dtype.name if self.dtype is not None else "float32"
        config["transformers_version"] = __version__
        write_json(os.path.join(save_directory, "config.json"), config)
        write_json(
            os.path.join(save_directory, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2}
        )
        write_safetensors(os.path.join(save_directory, "model.safetensors"), self.state_tensors())


class AutoModelForCausalLM:
    @classmethod
    @recorded("transformers.AutoModelForCausalLM.from_pretrained", accepts=_LOAD_KWARGS, skip_self=True)
    def from_pretrained(
        cls, pretrained_model_name_or_path: str, *model_args: Any, **kwargs: Any
    ) -> PreTrainedModel:
        folder = _require_folder(pretrained_model_name_or_path, "config.json")
        quantization = kwargs.get("quantization_config")
        quantized = bool(getattr(quantization, "load_in_4bit", False))
        return PreTrainedModel(folder, kwargs.get("dtype", kwargs.get("torch_dtype")), quantized)


class AutoTokenizer:
    @classmethod
    @recorded(
        "transformers.AutoTokenizer.from_pretrained",
        accepts=("trust_remote_code", "revision", "token", "use_fast"),
        skip_self=True,
    )
    def from_pretrained(
        cls, pretrained_model_name_or_path: str, *inputs: Any, **kwargs: Any
    ) -> PreTrainedTokenizerFast:
        return PreTrainedTokenizerFast(
            _require_folder(pretrained_model_name_or_path, "tokenizer_config.json")
        )


class BitsAndBytesConfig:
    @recorded("transformers.BitsAndBytesConfig", skip_self=True)
    def __init__(
        self,
        load_in_8bit: bool = False,
        load_in_4bit: bool = False,
        llm_int8_threshold: float = 6.0,
        llm_int8_skip_modules: Any = None,
        llm_int8_enable_fp32_cpu_offload: bool = False,
        llm_int8_has_fp16_weight: bool = False,
        bnb_4bit_compute_dtype: Any = None,
        bnb_4bit_quant_type: str = "fp4",
        bnb_4bit_use_double_quant: bool = False,
        bnb_4bit_quant_storage: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"unexpected BitsAndBytesConfig arguments {sorted(kwargs)}")
        self.load_in_4bit = load_in_4bit
