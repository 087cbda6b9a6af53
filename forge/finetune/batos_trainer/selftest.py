"""``--self-test``: a tiny random model through the same masking, callback and save path."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import tempfile
import traceback
from typing import Any

from .config import TrainConfig
from .dataset import _load_valid_dataset
from .export import save_merged
from .model import REQUIREMENTS_HINT, Libraries, _cuda_available, _dtype_keyword, apply_lora, import_libraries
from .protocol import EXIT_FAILED, EXIT_OK, Protocol, TrainerError, log
from .tokenizing import IGNORE_INDEX, build_examples
from .training import TrainOutcome, emit_done, train_and_save

#: What ``--self-test`` needs (import name -> pip package name).
SELF_TEST_PACKAGES = {
    "torch": "torch",
    "transformers": "transformers",
    "peft": "peft",
    "accelerate": "accelerate",
    "tokenizers": "tokenizers",
}


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
#: The prompt whose logits the reloaded adapter and the merged model must reproduce.
SELF_TEST_PROBE = "<|user|>Status report 1?<|end|>\n<|assistant|>"
#: How far the merged float16 model's logits may stray from the trained model's (float32).
SELF_TEST_MERGED_TOLERANCE = 0.05


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
        failures = _self_test_failures(libs, outcome, model, tokenizer, seed)
        expected = _probe_logits(libs, model, tokenizer)
        # The merge runs after the adapter checks: merge_and_unload folds the adapter into `model`.
        merged_dir = save_merged(libs, model, tokenizer, "self-test", outcome.adapter_dir, adapter_dir, False)
        outcome = dataclasses.replace(outcome, merged_dir=merged_dir)
        emit_done(protocol, outcome)
        failures += _merged_failures(libs, merged_dir, tokenizer, expected)
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
    log(
        "self-test passed: the loss fell, the saved adapter loads back with the same weights, "
        "and the merged float16 model gives the trained model's logits"
    )
    protocol.emit("self_test", ok=True, adapter_reloaded=True, merged_reloaded=True, **summary)
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
    expected = _probe_logits(libs, model, tokenizer)
    actual = _probe_logits(libs, reloaded, tokenizer, next(model.parameters()).device)
    if not torch.allclose(expected, actual, atol=1e-4, rtol=1e-3):
        failures.append("the reloaded adapter gives different logits from the trained model")
    return failures


def _probe_logits(libs: Libraries, model: Any, tokenizer: Any, device: Any = None) -> Any:
    """The model's float32 logits for SELF_TEST_PROBE, on the CPU."""
    torch = libs.torch
    model.eval()
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    sample = tokenizer(SELF_TEST_PROBE, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        return model(input_ids=sample["input_ids"].to(device)).logits.float().cpu()


def _merged_failures(libs: Libraries, merged_dir: str, tokenizer: Any, expected: Any) -> list[str]:
    """The merged folder says float16 and, loaded back, gives the trained model's logits."""
    with open(os.path.join(merged_dir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    dtype = config.get("dtype", config.get("torch_dtype"))
    if dtype != "float16":
        return [f"the merged model's config.json says dtype {dtype!r}, not float16"]
    merged = libs.transformers.AutoModelForCausalLM.from_pretrained(
        merged_dir, **{_dtype_keyword(libs): libs.torch.float32}
    )
    actual = _probe_logits(libs, merged, tokenizer)
    difference = float((expected - actual).abs().max())
    if difference > SELF_TEST_MERGED_TOLERANCE:
        return [f"the merged model's logits differ from the trained model's by up to {difference:.4f}"]
    return []
