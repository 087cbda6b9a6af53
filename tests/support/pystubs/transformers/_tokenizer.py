"""The stand-in tokenizer: renders chat templates with jinja2 as transformers does, one id per character.

A base folder's ``tokenizer_config.json`` gives the chat template, the special tokens and
``added_tokens_decoder``; every ``<|...|>`` marker of the template is one special token.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from typing import Any

from pystub_record import recorded, write_json

_MARKER = re.compile(r"<\|[A-Za-z0-9_]+\|>")
SPECIAL_BASE = 100_000


def _render(template: str, **context: Any) -> str:
    """As transformers renders chat templates: a sandbox, trim_blocks, lstrip_blocks, its globals."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    def strftime_now(fmt: str) -> str:
        return datetime.datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent)
    env.globals.update(raise_exception=raise_exception, strftime_now=strftime_now)
    return env.from_string(template).render(**context)


class PreTrainedTokenizerFast:
    """What AutoTokenizer.from_pretrained returns for a stand-in base folder."""

    def __init__(self, folder: str) -> None:
        with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as handle:
            config = json.load(handle)
        self.chat_template = config.get("chat_template")
        jinja = os.path.join(folder, "chat_template.jinja")
        if self.chat_template is None and os.path.isfile(jinja):
            with open(jinja, encoding="utf-8") as handle:
                self.chat_template = handle.read()
        self.bos_token = config.get("bos_token")
        self.eos_token = config.get("eos_token")
        self.pad_token = config.get("pad_token")
        specials = {v["content"] for v in config.get("added_tokens_decoder", {}).values()}
        specials |= set(_MARKER.findall(self.chat_template or ""))
        specials |= {t for t in (self.bos_token, self.eos_token, self.pad_token) if t}
        self.specials = sorted(specials, key=lambda t: (-len(t), t))
        self.config = config
        self.pystub_label = f"tokenizer({os.path.basename(folder)})"

    def _id(self, token: str | None) -> int | None:
        return None if token is None else SPECIAL_BASE + self.specials.index(token)

    @property
    def bos_token_id(self) -> int | None:
        return self._id(self.bos_token)

    @property
    def eos_token_id(self) -> int | None:
        return self._id(self.eos_token)

    @property
    def pad_token_id(self) -> int | None:
        return self._id(self.pad_token)

    @recorded(
        "transformers.PreTrainedTokenizerBase.apply_chat_template", accepts=("date_string",), skip_self=True
    )
    def apply_chat_template(
        self,
        conversation: list[dict[str, str]],
        tools: list[Any] | None = None,
        documents: list[dict[str, str]] | None = None,
        chat_template: str | None = None,
        add_generation_prompt: bool = False,
        continue_final_message: bool = False,
        tokenize: bool = True,
        padding: bool = False,
        truncation: bool = False,
        max_length: int | None = None,
        return_tensors: str | None = None,
        return_dict: bool = True,
        return_assistant_tokens_mask: bool = False,
        tokenizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        template = chat_template or self.chat_template
        if not template:
            raise ValueError("Cannot use chat template functions because tokenizer.chat_template is not set")
        context = {"bos_token": self.bos_token, "eos_token": self.eos_token, "pad_token": self.pad_token}
        if tools is not None:
            context["tools"] = tools
        text = _render(
            template, messages=conversation, add_generation_prompt=add_generation_prompt, **context, **kwargs
        )
        return text if not tokenize else self(text, add_special_tokens=False)["input_ids"]

    def __call__(
        self,
        text: str | None = None,
        text_pair: str | None = None,
        text_target: str | None = None,
        text_pair_target: str | None = None,
        add_special_tokens: bool = True,
        padding: bool = False,
        truncation: bool | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        tokenizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, list[int]]:
        assert text is not None
        ids: list[int] = [self.bos_token_id] if add_special_tokens and self.bos_token else []
        i = 0
        while i < len(text):
            special = next((t for t in self.specials if text.startswith(t, i)), None)
            if special is not None:
                ids.append(self._id(special))
                i += len(special)
            else:
                ids.append(ord(text[i]))
                i += 1
        return {"input_ids": ids}

    def decode(self, token_ids: list[int], skip_special_tokens: bool = False, **kwargs: Any) -> str:
        return "".join(
            ("" if skip_special_tokens else self.specials[i - SPECIAL_BASE]) if i >= SPECIAL_BASE else chr(i)
            for i in token_ids
        )

    @recorded("transformers.PreTrainedTokenizerBase.save_pretrained", skip_self=True)
    def save_pretrained(
        self,
        save_directory: str,
        legacy_format: bool | None = None,
        filename_prefix: str | None = None,
        push_to_hub: bool = False,
        **kwargs: Any,
    ) -> tuple[str, ...]:
        os.makedirs(save_directory, exist_ok=True)
        config = {**self.config, "chat_template": self.chat_template}
        write_json(os.path.join(save_directory, "tokenizer_config.json"), config)
        write_json(
            os.path.join(save_directory, "tokenizer.json"), {"version": "1.0", "model": {"type": "stand-in"}}
        )
        specials = {"bos_token": self.bos_token, "eos_token": self.eos_token}
        write_json(os.path.join(save_directory, "special_tokens_map.json"), specials)
        return ("tokenizer_config.json", "tokenizer.json", "special_tokens_map.json")
