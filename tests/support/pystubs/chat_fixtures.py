"""Chat-template fixtures: Llama 3.x as Hugging Face renders it, and as Ollama serves it.

* ``LLAMA31_HF_TEMPLATE`` / ``LLAMA32_HF_TEMPLATE``: Jinja templates written to render what the
  Llama 3.1 and 3.2 Instruct tokenizers' templates render for conversations without tools: a
  system block that always carries "Cutting Knowledge Date: December 2023" and "Today Date: …"
  (3.1 with the fixed default date, 3.2 with ``strftime_now``), the system text trimmed, each turn
  as a header, the trimmed content and ``<|eot_id|>``, and BOS written as text. The tool branches
  are reduced to the line they add to the system block.
* ``ollama_llama31`` / ``ollama_llama32``: Python functions giving exactly what Ollama's Go
  templates for ``llama3.1`` and ``llama3.2`` produce for a no-tools request: ``.System`` is every
  system message joined by a blank line; the system block is written (3.1) only when there is
  system text, or (3.2) always, with "Cutting Knowledge Date: December 2023" and never a
  "Today Date"; a final user turn is followed by the assistant header; a final assistant turn has
  no ``<|eot_id|>`` (Ollama continues it). Ollama adds BOS when it tokenizes, not in the text.
* ``write_base(folder, family)``: a stand-in base model folder for the stubs in this directory.
"""

from __future__ import annotations

import json
import os
from typing import Any

BOS = "<|begin_of_text|>"
EOT = "<|eot_id|>"


def _hf_template(date: str) -> str:
    return (
        "{{- bos_token }}\n"
        "{%- if not tools is defined %}{%- set tools = none %}{%- endif %}\n"
        + date
        + "{%- if messages[0]['role'] == 'system' %}\n"
        "    {%- set system_message = messages[0]['content'] | trim %}\n"
        "    {%- set messages = messages[1:] %}\n"
        "{%- else %}\n"
        '    {%- set system_message = "" %}\n'
        "{%- endif %}\n"
        '{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}\n'
        "{%- if builtin_tools is defined or tools is not none %}"
        '{{- "Environment: ipython\\n" }}{%- endif %}\n'
        '{{- "Cutting Knowledge Date: December 2023\\n" }}\n'
        '{{- "Today Date: " + date_string + "\\n\\n" }}\n'
        "{{- system_message }}\n"
        '{{- "<|eot_id|>" }}\n'
        "{%- for message in messages %}\n"
        "    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
        " + message['content'] | trim"
        " + '<|eot_id|>' }}\n"
        "{%- endfor %}\n"
        "{%- if add_generation_prompt %}\n"
        "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
        "{%- endif %}\n"
    )


LLAMA31_HF_TEMPLATE = _hf_template(
    '{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}\n'
)
LLAMA32_HF_TEMPLATE = _hf_template(
    "{%- if not date_string is defined %}\n"
    '    {%- if strftime_now is defined %}{%- set date_string = strftime_now("%d %b %Y") %}\n'
    '    {%- else %}{%- set date_string = "26 Jul 2024" %}{%- endif %}\n'
    "{%- endif %}\n"
)
HF_TEMPLATES = {"llama3.1": LLAMA31_HF_TEMPLATE, "llama3.2": LLAMA32_HF_TEMPLATE}


def _ollama_turns(messages: list[dict[str, Any]]) -> str:
    """The ``range .Messages`` part of both Llama 3 templates, without tools."""
    out = ""
    for i, message in enumerate(messages):
        last = i == len(messages) - 1
        role, content = message["role"], message["content"]
        if role == "user":
            out += f"<|start_header_id|>user<|end_header_id|>\n\n{content}{EOT}"
            if last:
                out += "<|start_header_id|>assistant<|end_header_id|>\n\n"
        elif role == "assistant":
            out += f"<|start_header_id|>assistant<|end_header_id|>\n\n{content}"
            if not last:
                out += EOT
    return out


def _system(messages: list[dict[str, Any]]) -> str:
    return "\n\n".join(m["content"] for m in messages if m["role"] == "system")


def ollama_llama31(messages: list[dict[str, Any]]) -> str:
    """Ollama's ``llama3.1`` template output for a request without tools."""
    system = _system(messages)
    head = f"<|start_header_id|>system<|end_header_id|>\n\n{system}{EOT}" if system else ""
    return head + _ollama_turns(messages)


def ollama_llama32(messages: list[dict[str, Any]]) -> str:
    """Ollama's ``llama3.2`` template output for a request without tools."""
    dates = "Cutting Knowledge Date: December 2023\n\n"
    head = f"<|start_header_id|>system<|end_header_id|>\n\n{dates}{_system(messages)}{EOT}"
    return head + _ollama_turns(messages)


OLLAMA_RENDERERS = {"llama3.1": ollama_llama31, "llama3.2": ollama_llama32}


def write_base(folder: str, family: str = "llama3.1") -> str:
    """A stand-in Hugging Face base: config.json and tokenizer_config.json with the family's template."""
    os.makedirs(folder, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 2,
        "num_hidden_layers": 1,
        "vocab_size": 4,
        "torch_dtype": "bfloat16",
        "use_cache": True,
    }
    specials = ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]
    tokenizer = {
        "bos_token": BOS,
        "eos_token": EOT,
        "chat_template": HF_TEMPLATES[family],
        "added_tokens_decoder": {
            str(128000 + i): {"content": t, "special": True} for i, t in enumerate(specials)
        },
    }
    for name, value in (("config.json", config), ("tokenizer_config.json", tokenizer)):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=2)
    return folder
