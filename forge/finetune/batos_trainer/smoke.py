"""``--smoke``: the check for a GPU host, on a real (small) base model.

It trains a few steps on a tiny built-in chat set through the same path as a real run, exports
both the adapter and the merged model, writes a Modelfile beside them, and prints the commands
that put the result in force: ``ollama create`` from the merged folder (or the same through the
HTTP API, blob by blob), and vLLM's ``/v1/load_lora_adapter`` for the adapter. The commands go to
stderr for a person and into the final ``smoke`` event for a program.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
import sys
import tempfile

from .config import TrainConfig, load_config
from .protocol import EXIT_OK, Protocol, log
from .selftest import write_self_test_dataset
from .training import emit_done, fine_tune

#: A few steps, small batches and short sequences: enough to run every stage, not to learn much.
SMOKE_CONFIG = TrainConfig(
    max_steps=6,
    learning_rate=2e-4,
    per_device_train_batch_size=2,
    gradient_accumulation_steps=1,
    warmup_steps=1,
    lora_r=8,
    lora_alpha=16,
    max_seq_length=512,
)
#: The model name the printed commands create (Ollama) or register (vLLM).
SMOKE_MODEL_NAME = "batos-smoke"
OLLAMA_DEFAULT_HOST = "http://127.0.0.1:11434"
VLLM_DEFAULT_URL = "http://127.0.0.1:8000"


def _ollama_url() -> str:
    """``OLLAMA_HOST`` as the Ollama CLI reads it (a bare host:port gets http://)."""
    host = os.environ.get("OLLAMA_HOST", "").strip().rstrip("/")
    if not host:
        return OLLAMA_DEFAULT_HOST
    return host if "://" in host else f"http://{host}"


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def serving_commands(adapter_dir: str, merged_dir: str, modelfile: str) -> list[str]:
    """The shell commands that serve the smoke model, in the order to run them."""
    ollama = _ollama_url()
    vllm = os.environ.get("VLLM_URL", VLLM_DEFAULT_URL).rstrip("/")
    files = {}
    commands = [
        "# Ollama, any version: import the merged float16 folder as a whole model, quantized",
        f"ollama create {SMOKE_MODEL_NAME} --quantize q4_K_M -f {shlex.quote(modelfile)}",
        f"ollama run {SMOKE_MODEL_NAME} 'Status report?'",
        "# the same through Ollama's HTTP API (what the bot does): each file as a blob, then create",
    ]
    for name in sorted(os.listdir(merged_dir)):
        path = os.path.join(merged_dir, name)
        if not os.path.isfile(path):
            continue
        digest = f"sha256:{_sha256(path)}"
        files[name] = digest
        commands.append(f"curl -sS -X POST --data-binary @{shlex.quote(path)} {ollama}/api/blobs/{digest}")
    create = {"model": SMOKE_MODEL_NAME, "files": files, "quantize": "q4_K_M", "stream": False}
    commands.append(f"curl -sS {ollama}/api/create -d {shlex.quote(json.dumps(create))}")
    load = {"lora_name": SMOKE_MODEL_NAME, "lora_path": adapter_dir}
    commands += [
        "# vLLM serving the same base with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True",
        f"curl -sS {vllm}/v1/load_lora_adapter -H 'Content-Type: application/json' "
        f"-d {shlex.quote(json.dumps(load))}",
    ]
    return commands


def run_smoke(
    protocol: Protocol, base: str, output_dir: str | None, config_spec: str | None, seed: int | None
) -> int:
    """``--smoke``: train a few steps on ``base``, export both, print the serving commands."""
    cfg = load_config(config_spec, SMOKE_CONFIG)
    if seed is not None:
        cfg = dataclasses.replace(cfg, seed=seed)
    output = os.path.abspath(output_dir or tempfile.mkdtemp(prefix="batos-smoke-"))
    os.makedirs(output, exist_ok=True)
    dataset = os.path.join(output, "smoke-train.jsonl")
    write_self_test_dataset(dataset)
    outcome = fine_tune(protocol, dataset, base, output, cfg, "both")
    emit_done(protocol, outcome)
    assert outcome.merged_dir is not None  # export "both" always merges
    modelfile = os.path.join(output, "Modelfile")
    with open(modelfile, "w", encoding="utf-8") as handle:
        handle.write(
            "# The merged model of a train.py --smoke run. Ollama picks the chat template from the\n"
            "# tokenizer's; the bot passes the base's Ollama template (/api/show) instead.\n"
            f"FROM {outcome.merged_dir}\n"
        )
    commands = serving_commands(outcome.adapter_dir, outcome.merged_dir, modelfile)
    log("smoke run passed: adapter and merged model written and checked. To serve them:")
    for command in commands:
        print(command if command.startswith("#") else f"  {command}", file=sys.stderr, flush=True)
    protocol.emit(
        "smoke",
        ok=True,
        base=base,
        adapter_dir=outcome.adapter_dir,
        merged_dir=outcome.merged_dir,
        modelfile=modelfile,
        final_loss=outcome.final_loss,
        commands=commands,
    )
    return EXIT_OK
