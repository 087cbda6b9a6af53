"""Recording stand-in for Unsloth (signatures as in unsloth 2026.8.19's source; see pystub_record).

Like the real one it refuses to import without a GPU (``PYSTUB_CUDA=1`` gives it one). Its
``save_pretrained_merged(..., save_method="merged_16bit")`` writes what Unsloth writes: the
merged weights in the model's own dtype (bfloat16 here, as on an Ampere GPU), in two shards with
an index, ``config.json`` saying that dtype, and the tokenizer's files.
"""

from __future__ import annotations

import os
from typing import Any

import peft
import torch
import transformers
from pystub_record import cuda_enabled, record_import, recorded, write_json, write_safetensors

if not cuda_enabled():
    raise NotImplementedError("Unsloth cannot find any torch accelerator? You need a GPU.")

__version__ = "2026.8.19"
record_import("unsloth", __file__)

_SAVE_METHODS = ("lora", "merged_16bit", "merged_4bit")


@recorded("unsloth.save_pretrained_merged", skip_self=True)
def save_pretrained_merged(
    self: Any,
    save_directory: str,
    tokenizer: Any = None,
    save_method: str = "merged_16bit",
    push_to_hub: bool = False,
    token: Any = None,
    is_main_process: bool = True,
    state_dict: Any = None,
    save_function: Any = None,
    max_shard_size: int | str = "5GB",
    safe_serialization: bool = True,
    variant: Any = None,
    save_peft_format: bool = True,
    tags: Any = None,
    temporary_location: str = "_unsloth_temporary_saved_buffers",
    maximum_memory_usage: float = 0.75,
    datasets: Any = None,
    calibration_dataset: Any = None,
    num_calibration_samples: int = 512,
    max_seq_length: int = 2048,
) -> None:
    if save_method not in _SAVE_METHODS:
        raise ValueError(f"Unsloth: save_method {save_method!r} is not supported")
    base = self.base_model
    os.makedirs(save_directory, exist_ok=True)
    config = base.config.to_dict()
    config["dtype"] = base.dtype.name  # Unsloth writes the model's dtype, bfloat16 on a bf16 GPU
    write_json(os.path.join(save_directory, "config.json"), config)
    merged = transformers.PreTrainedModel(base.source, base.dtype, quantized=False, merged=True)
    tensors = list(merged.state_tensors().items())
    shards = [dict(tensors[:2]), dict(tensors[2:])]
    weight_map = {}
    for number, shard in enumerate(shards, start=1):
        name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(save_directory, name), shard)
        weight_map.update(dict.fromkeys(shard, name))
    write_json(
        os.path.join(save_directory, "model.safetensors.index.json"),
        {"metadata": {"total_size": 0}, "weight_map": weight_map},
    )
    if tokenizer is not None:
        tokenizer.save_pretrained(save_directory)


class FastLanguageModel:
    @staticmethod
    @recorded("unsloth.FastLanguageModel.from_pretrained")
    def from_pretrained(
        model_name: str = "unsloth/Llama-3.2-1B-Instruct",
        max_seq_length: int = 2048,
        dtype: Any = None,
        load_in_4bit: bool = True,
        load_in_8bit: bool = False,
        load_in_16bit: bool = False,
        full_finetuning: bool = False,
        token: Any = None,
        device_map: Any = "sequential",
        rope_scaling: Any = None,
        fix_tokenizer: bool = True,
        trust_remote_code: bool = False,
        use_gradient_checkpointing: Any = "unsloth",
        resize_model_vocab: Any = None,
        revision: Any = None,
        use_exact_model_name: bool = False,
        offload_embedding: bool = False,
        float32_mixed_precision: Any = None,
        fast_inference: bool = False,
        gpu_memory_utilization: float = 0.5,
        float8_kv_cache: bool = False,
        random_state: int = 3407,
        max_lora_rank: int = 64,
        disable_log_stats: bool = True,
        qat_scheme: Any = None,
        load_in_fp8: Any = False,
        unsloth_tiled_mlp: bool = False,
        text_only: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        if kwargs or args:
            raise TypeError(f"unexpected arguments {sorted(kwargs)} {args}")
        if int(load_in_4bit) + int(load_in_8bit) + int(load_in_16bit) > 1:
            raise RuntimeError("Unsloth: Can only load in 4bit or 8bit or 16bit, not a combination!")
        chosen = dtype or (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
        model = transformers.PreTrainedModel(model_name, chosen, quantized=load_in_4bit)
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_name)
        return model, tokenizer

    @staticmethod
    @recorded("unsloth.FastLanguageModel.get_peft_model")
    def get_peft_model(
        model: Any,
        r: int = 16,
        target_modules: Any = None,
        lora_alpha: int = 16,
        lora_dropout: float = 0.0,
        bias: str = "none",
        layers_to_transform: Any = None,
        layers_pattern: Any = None,
        finetune_last_n_layers: Any = None,
        use_gradient_checkpointing: Any = "unsloth",
        random_state: int = 3407,
        max_seq_length: int = 2048,
        use_rslora: bool = False,
        modules_to_save: Any = None,
        init_lora_weights: Any = True,
        loftq_config: Any = None,
        temporary_location: str = "_unsloth_temporary_saved_buffers",
        qat_scheme: Any = None,
        target_parameters: Any = None,
        ensure_weight_tying: bool = False,
        **kwargs: Any,
    ) -> Any:
        if kwargs:
            raise TypeError(f"unexpected arguments {sorted(kwargs)}")
        config = peft.LoraConfig(
            r=r, target_modules=target_modules, lora_alpha=lora_alpha, lora_dropout=lora_dropout, bias=bias
        )
        wrapped = peft.PeftModel(model, config)
        # Unsloth attaches its savers to the model it returns.
        wrapped.save_pretrained_merged = save_pretrained_merged.__get__(wrapped)
        return wrapped
