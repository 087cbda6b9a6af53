"""Recording stand-in for peft 0.21.0 (see pystub_record): LoraConfig, get_peft_model, PeftModel.

``PeftModel.save_pretrained`` writes ``adapter_config.json`` with Python's json, as PEFT does:
a ``lora_alpha`` of 32.0 is written as ``32.0``, so the test sees what the trainer passed.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from pystub_record import record, record_import, recorded, write_json, write_safetensors

__version__ = "0.21.0"
record_import("peft", __file__)


@dataclasses.dataclass
class LoraConfig:
    """The fields train.py sets, named as in peft 0.21.0's LoraConfig."""

    r: int = 8
    target_modules: Any = None
    lora_alpha: int = 8
    lora_dropout: float = 0.0
    bias: str = "none"
    task_type: Any = None
    use_rslora: bool = False
    modules_to_save: Any = None
    init_lora_weights: Any = True
    layers_to_transform: Any = None
    layers_pattern: Any = None
    base_model_name_or_path: str | None = None

    def __post_init__(self) -> None:
        record("peft.LoraConfig", dataclasses.asdict(self))


def _adapter_tensors() -> dict[str, tuple[str, list[int], list[float]]]:
    prefix = "base_model.model.model.layers.0.self_attn.q_proj"
    return {
        f"{prefix}.lora_A.weight": ("F32", [1, 2], [0.5, -0.5]),
        f"{prefix}.lora_B.weight": ("F32", [2, 1], [0.25, 0.125]),
    }


class PeftModel:
    """The base model with LoRA layers; attribute access falls through to the base, as PEFT's does."""

    def __init__(self, model: Any, config: LoraConfig) -> None:
        self.base_model = model
        self.peft_config = {"default": config}
        config.base_model_name_or_path = getattr(model, "source", None)
        self.pystub_label = f"peft({model.pystub_label})"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["base_model"], name)

    @recorded("peft.PeftModel.save_pretrained", skip_self=True)
    def save_pretrained(
        self,
        save_directory: str,
        safe_serialization: bool = True,
        selected_adapters: list[str] | None = None,
        save_embedding_layers: str | bool = "auto",
        is_main_process: bool = True,
        path_initial_model_for_weight_conversion: str | None = None,
        **kwargs: Any,
    ) -> None:
        os.makedirs(save_directory, exist_ok=True)
        config = self.peft_config["default"]
        write_json(
            os.path.join(save_directory, "adapter_config.json"),
            {
                "base_model_name_or_path": config.base_model_name_or_path,
                "bias": config.bias,
                "lora_alpha": config.lora_alpha,
                "lora_dropout": config.lora_dropout,
                "peft_type": "LORA",
                "r": config.r,
                "target_modules": config.target_modules,
                "task_type": config.task_type,
            },
        )
        name = "adapter_model.safetensors" if safe_serialization else "adapter_model.bin"
        write_safetensors(os.path.join(save_directory, name), _adapter_tensors())
        with open(os.path.join(save_directory, "README.md"), "w", encoding="utf-8") as handle:
            handle.write("---\nlibrary_name: peft\n---\n")

    @recorded("peft.PeftModel.merge_and_unload", skip_self=True)
    def merge_and_unload(
        self, progressbar: bool = False, safe_merge: bool = False, adapter_names: list[str] | None = None
    ) -> Any:
        base = self.base_model
        if getattr(base, "quantized", False):
            raise ValueError("merging into 4-bit weights loses the update: reload the base in 16-bit first")
        base.merged = True
        return base

    @classmethod
    @recorded("peft.PeftModel.from_pretrained", skip_self=True)
    def from_pretrained(
        cls,
        model: Any,
        model_id: str,
        adapter_name: str = "default",
        is_trainable: bool = False,
        config: Any = None,
        autocast_adapter_dtype: bool = True,
        ephemeral_gpu_offload: bool = False,
        low_cpu_mem_usage: bool = False,
        key_mapping: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> PeftModel:
        with open(os.path.join(model_id, "adapter_config.json"), encoding="utf-8") as handle:
            saved = json.load(handle)
        return cls(
            model,
            LoraConfig(r=saved["r"], lora_alpha=saved["lora_alpha"], target_modules=saved["target_modules"]),
        )


@recorded("peft.get_peft_model")
def get_peft_model(
    model: Any,
    peft_config: LoraConfig,
    adapter_name: str = "default",
    mixed: bool = False,
    autocast_adapter_dtype: bool = True,
    revision: str | None = None,
    low_cpu_mem_usage: bool = False,
) -> PeftModel:
    return PeftModel(model, peft_config)


@recorded("peft.prepare_model_for_kbit_training")
def prepare_model_for_kbit_training(
    model: Any,
    use_gradient_checkpointing: bool = True,
    gradient_checkpointing_kwargs: Any = None,
    auto_clear_cache: bool = True,
) -> Any:
    return model
