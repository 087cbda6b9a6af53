"""Dataset validation (standard library only): sample rules, ``validate_dataset`` and ``--check``."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from .protocol import EXIT_FAILED, EXIT_OK, Protocol, TrainerError

#: ``--check`` lists at most this many problems.
MAX_REPORTED_ERRORS = 20
#: Problems quoted in the error event when a training run finds an invalid dataset.
MAX_ERRORS_IN_EVENT = 3

ROLE_SYSTEM = "system"
ROLE_USER = "user"
ROLE_ASSISTANT = "assistant"
ROLES = (ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT)

Message = dict[str, str]


@dataclasses.dataclass(frozen=True)
class DatasetReport:
    """The outcome of reading a dataset: the conversations, or what is wrong with it."""

    conversations: list[list[Message]]
    assistant_turns: int
    errors: list[str]
    error_count: int

    @property
    def ok(self) -> bool:
        """True when the dataset has samples and no problem."""
        return self.error_count == 0


def check_sample(sample: Any) -> tuple[list[Message], list[str]]:
    """Checks one parsed JSONL line; returns (messages with role and content only, problems).

    Rules: ``messages`` is a non-empty list of ``{"role", "content"}`` objects; an optional
    system message comes first; then turns alternate user, assistant, user, ...; the last
    message is an assistant turn; every content is a non-empty string. ``meta`` and other
    keys are ignored.
    """
    if not isinstance(sample, dict):
        return [], ['expected a JSON object with a "messages" list']
    messages = sample.get("messages")
    if not isinstance(messages, list) or not messages:
        return [], ['"messages" must be a non-empty list']
    problems: list[str] = []
    cleaned: list[Message] = []
    expected = ROLE_USER
    for number, message in enumerate(messages, start=1):
        where = f"message {number}"
        if not isinstance(message, dict):
            problems.append(f'{where} must be an object with "role" and "content"')
            continue
        role = message.get("role")
        content = message.get("content")
        if role not in ROLES:
            problems.append(f"{where} has role {json.dumps(role)}; allowed: {', '.join(ROLES)}")
        elif role == ROLE_SYSTEM:
            if number != 1:
                problems.append(f"{where} is a system message; only the first message may be one")
        else:
            if role != expected:
                problems.append(
                    f"{where} has role {role} where {expected} was expected "
                    "(after the optional system message, turns alternate user, assistant)"
                )
            expected = ROLE_ASSISTANT if role == ROLE_USER else ROLE_USER
        if not isinstance(content, str):
            problems.append(f'{where} ({role}) needs "content" as a string')
        elif not content.strip():
            problems.append(f"{where} ({role}) has empty content")
        if isinstance(role, str) and isinstance(content, str):
            cleaned.append({"role": role, "content": content})
    roles = [m.get("role") for m in messages if isinstance(m, dict)]
    if ROLE_ASSISTANT not in roles:
        problems.append("has no assistant turn")
    elif roles[-1] != ROLE_ASSISTANT:
        problems.append("the last message must be an assistant turn")
    return cleaned, problems


def validate_dataset(path: str) -> DatasetReport:
    """Reads a JSONL dataset and checks every line (see ``check_sample``); blank lines are skipped."""
    errors: list[str] = []
    error_count = 0
    conversations: list[list[Message]] = []
    assistant_turns = 0

    def problem(text: str) -> None:
        nonlocal error_count
        error_count += 1
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(text)

    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with block below)
    except OSError as exc:
        problem(f"cannot read dataset {path}: {exc.strerror or exc}")
        return DatasetReport([], 0, errors, error_count)
    with handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem(f"line {line_number}: not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if line_number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                sample = json.loads(line)
            except json.JSONDecodeError as exc:
                problem(f"line {line_number}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            messages, problems = check_sample(sample)
            for text in problems:
                problem(f"line {line_number}: {text}")
            if not problems:
                conversations.append(messages)
                assistant_turns += sum(1 for m in messages if m["role"] == ROLE_ASSISTANT)
    if error_count == 0 and not conversations:
        problem(f"dataset {path} is empty: it has no samples")
    return DatasetReport(conversations, assistant_turns, errors, error_count)


def run_check(protocol: Protocol, path: str) -> int:
    """``--check``: prints ``{"ok":true,...}`` or ``{"ok":false,"errors":[...]}``."""
    report = validate_dataset(path)
    if report.ok:
        protocol.write(
            {"ok": True, "samples": len(report.conversations), "assistant_turns": report.assistant_turns}
        )
        return EXIT_OK
    protocol.write({"ok": False, "errors": report.errors, "error_count": report.error_count})
    return EXIT_FAILED


def _load_valid_dataset(path: str) -> DatasetReport:
    """Validates the training dataset; raises TrainerError quoting the first problems."""
    if not os.path.isfile(path):
        raise TrainerError(f"dataset not found: {path}")
    report = validate_dataset(path)
    if not report.ok:
        quoted = "; ".join(report.errors[:MAX_ERRORS_IN_EVENT])
        more = report.error_count - min(report.error_count, MAX_ERRORS_IN_EVENT)
        suffix = f" (and {more} more; run train.py --check {path})" if more else ""
        raise TrainerError(f"dataset {path} is invalid: {quoted}{suffix}")
    return report
