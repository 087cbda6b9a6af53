"""The BAT OS LoRA trainer, as a package; ``forge/finetune/train.py`` is its entry point.

Modules, each importing only the standard library at module level (torch, transformers,
peft and unsloth are imported inside ``model.import_libraries`` and the self-test):

* ``protocol``: exit statuses, ``TrainerError``/``UsageError``, the JSON-lines stdout stream, ``log``
* ``config``: ``TrainConfig`` and the parsing and validation of ``--config``
* ``dataset``: sample rules, ``validate_dataset`` and ``--check``
* ``tokenizing``: chat rendering, assistant-span planning, loss masking, ``build_examples``
* ``model``: importing the libraries, loading the base model, applying LoRA
* ``training``: the collator, the progress callback, ``train_and_save``, ``run_training``
* ``selftest``: ``--self-test`` on a tiny random model
* ``cli``: the command line, dispatch, signal handling and ``main``

The public names of every module are re-exported here (``train.py`` re-exports them in turn).
"""

from __future__ import annotations

from .cli import build_parser, main
from .config import (
    BACKENDS,
    CONFIG_KEYS,
    DEFAULT_TARGET_MODULES,
    LR_SCHEDULERS,
    TrainConfig,
    load_config,
    parse_config,
)
from .dataset import (
    MAX_ERRORS_IN_EVENT,
    MAX_REPORTED_ERRORS,
    ROLE_ASSISTANT,
    ROLE_SYSTEM,
    ROLE_USER,
    ROLES,
    DatasetReport,
    Message,
    check_sample,
    run_check,
    validate_dataset,
)
from .model import (
    REQUIREMENTS_HINT,
    Libraries,
    apply_lora,
    chat_tokenizer,
    import_libraries,
    load_base,
)
from .protocol import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Protocol,
    TrainerError,
    UsageError,
    log,
    open_protocol_stream,
)
from .selftest import (
    SELF_TEST_CHAT_TEMPLATE,
    SELF_TEST_CONFIG,
    SELF_TEST_PACKAGES,
    SELF_TEST_REQUIRED_DROP,
    SELF_TEST_SPECIAL_TOKENS,
    build_self_test_model,
    build_self_test_tokenizer,
    run_self_test,
    write_self_test_dataset,
)
from .tokenizing import (
    IGNORE_INDEX,
    ExampleStats,
    Span,
    build_examples,
    encode,
    merge_system_message,
    plan_examples,
    render_chat,
    tokenize_with_mask,
)
from .training import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    TrainOutcome,
    make_collator,
    make_progress_callback,
    run_training,
    train_and_save,
)

__all__ = [
    # protocol
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "TrainerError",
    "UsageError",
    "Protocol",
    "open_protocol_stream",
    "log",
    # config
    "BACKENDS",
    "LR_SCHEDULERS",
    "DEFAULT_TARGET_MODULES",
    "TrainConfig",
    "CONFIG_KEYS",
    "parse_config",
    "load_config",
    # dataset
    "MAX_REPORTED_ERRORS",
    "MAX_ERRORS_IN_EVENT",
    "ROLE_SYSTEM",
    "ROLE_USER",
    "ROLE_ASSISTANT",
    "ROLES",
    "Message",
    "DatasetReport",
    "check_sample",
    "validate_dataset",
    "run_check",
    # tokenizing
    "IGNORE_INDEX",
    "Span",
    "render_chat",
    "merge_system_message",
    "plan_examples",
    "encode",
    "tokenize_with_mask",
    "ExampleStats",
    "build_examples",
    # model
    "REQUIREMENTS_HINT",
    "Libraries",
    "import_libraries",
    "load_base",
    "chat_tokenizer",
    "apply_lora",
    # training
    "ADAPTER_WEIGHTS",
    "ADAPTER_CONFIG",
    "make_collator",
    "make_progress_callback",
    "TrainOutcome",
    "train_and_save",
    "run_training",
    # selftest
    "SELF_TEST_PACKAGES",
    "SELF_TEST_CONFIG",
    "SELF_TEST_SPECIAL_TOKENS",
    "SELF_TEST_CHAT_TEMPLATE",
    "SELF_TEST_REQUIRED_DROP",
    "build_self_test_tokenizer",
    "build_self_test_model",
    "write_self_test_dataset",
    "run_self_test",
    # cli
    "build_parser",
    "main",
]
