"""Chat rendering and loss masking: span planning, tokenizing with labels, ``build_examples``.

Works with any tokenizer that has ``apply_chat_template`` and ``__call__``; no ML library is
imported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .chat_format import align_to_serving, serving_rule
from .dataset import ROLE_ASSISTANT, ROLE_SYSTEM, Message
from .protocol import TrainerError

#: Label value that the loss ignores (PyTorch's cross-entropy ``ignore_index``).
IGNORE_INDEX = -100


def render_chat(
    tokenizer: Any, messages: Sequence[Message], add_generation_prompt: bool, rule: str | None = None
) -> str:
    """Renders messages with the model's own chat template, as text.

    ``rule`` (from ``chat_format.serving_rule``) rewrites the text to what the serving template
    renders; None leaves it as the Hugging Face template wrote it.
    """
    text = tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
    )
    if not isinstance(text, str):
        raise TrainerError("the tokenizer's apply_chat_template(tokenize=False) did not return text")
    return align_to_serving(text, rule, getattr(tokenizer, "bos_token", None))


def prompt_rule(tokenizer: Any, prompt_format: str) -> str | None:
    """The serving rule for this tokenizer's template under ``prompt_format`` (``ollama`` or ``hf``)."""
    return serving_rule(getattr(tokenizer, "chat_template", None)) if prompt_format == "ollama" else None


def merge_system_message(messages: Sequence[Message]) -> list[Message]:
    """Folds a leading system message into the first user turn (for templates without a system role)."""
    if not messages or messages[0]["role"] != ROLE_SYSTEM:
        return list(messages)
    system, first, rest = messages[0], messages[1], messages[2:]
    merged = {"role": first["role"], "content": f"{system['content']}\n\n{first['content']}"}
    return [merged, *rest]


Span = tuple[int, int]


def plan_examples(
    tokenizer: Any, messages: Sequence[Message], rule: str | None = None
) -> list[tuple[str, list[Span]]]:
    """Renders a conversation and finds the character spans of its assistant turns.

    For assistant turn k, the text before it is the template's rendering of messages[:k] with
    the generation prompt, and the text through it is the rendering of messages[:k+1]; the
    turn (with the template's end-of-turn marker) lies between the two lengths. When every such
    prefix is a prefix of the whole conversation, this gives one example with all the spans.
    Some templates rewrite earlier turns (e.g. strip reasoning from past assistant turns); then
    each assistant turn becomes its own example, with the earlier turns as masked context.
    Every rendering goes through the same serving ``rule`` (see ``render_chat``).
    """
    full = render_chat(tokenizer, messages, False, rule)
    assistant_indices = [k for k, m in enumerate(messages) if m["role"] == ROLE_ASSISTANT]
    spans: list[Span] = []
    cursor = 0
    prefix_stable = True
    for k in assistant_indices:
        before = render_chat(tokenizer, messages[:k], True, rule)
        through = render_chat(tokenizer, messages[: k + 1], False, rule)
        if full.startswith(before) and full.startswith(through) and cursor <= len(before) < len(through):
            spans.append((len(before), len(through)))
            cursor = len(through)
        else:
            prefix_stable = False
            break
    if prefix_stable:
        return [(full, spans)]
    examples = []
    for k in assistant_indices:
        before = render_chat(tokenizer, messages[:k], True, rule)
        through = render_chat(tokenizer, messages[: k + 1], False, rule)
        if not through.startswith(before) or len(through) <= len(before):
            raise TrainerError(
                "the chat template renders an assistant turn in a way that does not extend the "
                "prompt before it, so the assistant tokens cannot be isolated for the loss"
            )
        examples.append((through, [(len(before), len(through))]))
    return examples


def encode(tokenizer: Any, text: str) -> list[int]:
    """Token ids of ``text`` without added BOS/EOS (the template writes its own special tokens)."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def tokenize_with_mask(tokenizer: Any, text: str, spans: Sequence[Span]) -> tuple[list[int], list[int]]:
    """Tokenizes ``text``; labels copy the ids inside ``spans`` and are IGNORE_INDEX elsewhere.

    A character boundary maps to a token position by tokenizing the text before it and taking
    the length it shares with the whole text's tokens, so this works for any tokenizer (fast
    or slow). A token that straddles a boundary goes to the later side.
    """
    ids = encode(tokenizer, text)
    positions: dict[int, int] = {}
    for boundary in sorted({b for span in spans for b in span}):
        if boundary <= 0:
            positions[boundary] = 0
        elif boundary >= len(text):
            positions[boundary] = len(ids)
        else:
            positions[boundary] = _common_prefix_length(ids, encode(tokenizer, text[:boundary]))
    labels = [IGNORE_INDEX] * len(ids)
    for start, end in spans:
        for i in range(positions[start], positions[end]):
            labels[i] = ids[i]
    return ids, labels


@dataclasses.dataclass
class ExampleStats:
    """How conversations became training examples."""

    conversations: int = 0
    examples: int = 0
    split_per_turn: int = 0
    system_merged: int = 0
    truncated: int = 0
    dropped: int = 0


def build_examples(
    tokenizer: Any,
    conversations: Sequence[Sequence[Message]],
    max_seq_length: int,
    prompt_format: str = "ollama",
) -> tuple[list[dict[str, list[int]]], ExampleStats]:
    """Turns conversations into ``{"input_ids", "labels"}`` examples (assistant tokens only in the loss).

    Examples longer than ``max_seq_length`` are cut at the end; one left with no assistant
    token is dropped. ``prompt_format`` ``ollama`` renders the prompts as Ollama serves them
    (see ``chat_format``); ``hf`` as the Hugging Face template writes them.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise TrainerError(
            "the base model's tokenizer has no chat template; fine-tune an instruct/chat model "
            "(the samples are chat messages, and Ollama serves the adapter with the base's template)"
        )
    rule = prompt_rule(tokenizer, prompt_format)
    stats = ExampleStats()
    examples: list[dict[str, list[int]]] = []
    for messages in conversations:
        stats.conversations += 1
        try:
            planned = plan_examples(tokenizer, messages, rule)
        except TrainerError:
            raise
        except Exception as exc:
            if messages[0]["role"] != ROLE_SYSTEM:
                raise TrainerError(
                    f"the chat template rejected a sample: {type(exc).__name__}: {exc}"
                ) from exc
            try:
                planned = plan_examples(tokenizer, merge_system_message(messages), rule)
            except Exception as retry_exc:
                raise TrainerError(
                    f"the chat template rejected a sample: {type(retry_exc).__name__}: {retry_exc}"
                ) from retry_exc
            stats.system_merged += 1
        if len(planned) > 1:
            stats.split_per_turn += 1
        for text, spans in planned:
            ids, labels = tokenize_with_mask(tokenizer, text, spans)
            if len(ids) > max_seq_length:
                stats.truncated += 1
                ids, labels = ids[:max_seq_length], labels[:max_seq_length]
            if all(label == IGNORE_INDEX for label in labels):
                stats.dropped += 1
                continue
            examples.append({"input_ids": ids, "labels": labels})
    stats.examples = len(examples)
    if not examples:
        raise TrainerError(
            f"no example keeps an assistant token within max_seq_length={max_seq_length}; "
            "raise max_seq_length or shorten the samples"
        )
    return examples, stats
