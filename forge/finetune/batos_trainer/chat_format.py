"""The training prompt as the server renders it: aligning Hugging Face chat templates with Ollama's.

The trainer renders every sample with the base tokenizer's own chat template, but the model is
served by Ollama with Ollama's template for that base, and a fine-tune learns the prompt it was
trained on. Most families render a conversation without tools the same way in both. The Llama 3
templates do not: Meta's Hugging Face templates always open with a system block that carries
"Cutting Knowledge Date" and "Today Date" lines (a no-system conversation still gets a system
block holding only those lines), while Ollama's templates differ:

* Llama 3.1 and 3.3: Ollama writes the date line only when the request has tools, and writes no
  system block at all when there is neither a system message nor tools.
* Llama 3.2: Ollama always writes the system block with "Cutting Knowledge Date: December 2023",
  but never a "Today Date" line (the Hugging Face template writes today's date there).

With ``prompt_format`` ``ollama`` (the default) each rendering is rewritten to Ollama's form
before it is tokenized. The dataset rules admit no tools (only system, user and assistant
turns), so the no-tools form is always the one to match. The family is recognised from the
template's source: a template that writes "Cutting Knowledge Date" and takes the date from
``strftime_now`` is Llama 3.2's; one that writes it with a fixed default date is the 3.1/3.3 one.
Any other template is left as it renders. With ``prompt_format`` ``hf`` nothing is rewritten (the
right choice when the adapter is served by vLLM with the base's Hugging Face template).

Standard library only.
"""

from __future__ import annotations

import re
from typing import Any

SYSTEM_HEADER = "<|start_header_id|>system<|end_header_id|>\n\n"
END_OF_TURN = "<|eot_id|>"
_DATE_LINES = re.compile(r"Cutting Knowledge Date: (?P<cutoff>[^\n]*)\nToday Date: [^\n]*\n\n")

#: The serving rules this module knows, by name.
LLAMA31 = "llama3.1"
LLAMA32 = "llama3.2"


def serving_rule(chat_template: Any) -> str | None:
    """Which rewrite makes this Hugging Face template render like Ollama's, or None."""
    if not isinstance(chat_template, str) or "Cutting Knowledge Date" not in chat_template:
        return None
    return LLAMA32 if "strftime_now" in chat_template else LLAMA31


def _split_leading_system_block(text: str, bos: str | None) -> tuple[str, str] | None:
    """(what comes before the system header, the text after it), when the text opens with one."""
    lead = bos if bos and text.startswith(bos) else ""
    rest = text[len(lead) :]
    if not rest.startswith(SYSTEM_HEADER):
        return None
    return lead, rest[len(SYSTEM_HEADER) :]


def align_to_serving(text: str, rule: str | None, bos: str | None = None) -> str:
    """Rewrites one rendering to what Ollama's template for the same family renders.

    Only the opening system block is touched, and only when it carries the date lines in the
    no-tools form; anything else comes back unchanged.
    """
    if rule is None:
        return text
    split = _split_leading_system_block(text, bos)
    if split is None:
        return text
    lead, body = split
    dates = _DATE_LINES.match(body)
    if dates is None:
        return text
    if rule == LLAMA32:
        return f"{lead}{SYSTEM_HEADER}Cutting Knowledge Date: {dates['cutoff']}\n\n{body[dates.end() :]}"
    body = body[dates.end() :]
    if body.startswith(END_OF_TURN):  # the block held only the dates: Ollama writes no system block
        return lead + body[len(END_OF_TURN) :]
    return lead + SYSTEM_HEADER + body
