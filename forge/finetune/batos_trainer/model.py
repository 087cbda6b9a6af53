"""The training libraries and the model: lazy imports, device checks, loading the base, LoRA.

torch, transformers, peft and unsloth are imported inside ``import_libraries`` only.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

from .config import DEFAULT_TARGET_MODULES, TrainConfig
from .protocol import TrainerError, log

REQUIREMENTS_HINT = "pip install -r forge/finetune/requirements.txt"


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


def load_base(libs: Libraries, base: str, cfg: TrainConfig) -> tuple[Any, Any, bool]:
    """Loads the base model and its tokenizer; returns (model, tokenizer, quantized_4bit)."""
    torch = libs.torch
    if libs.fast_language_model is not None:
        model, tokenizer = libs.fast_language_model.from_pretrained(
            model_name=base,
            max_seq_length=cfg.max_seq_length,
            dtype=None,  # Unsloth picks bfloat16 where supported, else float16
            load_in_4bit=cfg.load_in_4bit,
            # Unsloth's own default is 4-bit; without QLoRA ask for LoRA on 16-bit weights outright.
            load_in_16bit=not cfg.load_in_4bit,
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
