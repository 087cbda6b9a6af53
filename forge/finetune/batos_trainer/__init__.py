"""The BAT OS LoRA trainer, as a package; ``forge/finetune/train.py`` is its entry point.

Modules, each importing only the standard library at module level (torch, transformers,
peft and unsloth are imported inside ``model.import_libraries`` and the self-test):

* ``protocol``: exit statuses, ``TrainerError``/``UsageError``, the JSON-lines stdout stream, ``log``
* ``config``: ``TrainConfig`` and the parsing and validation of ``--config``
* ``dataset``: sample rules, ``validate_dataset`` and ``--check``
* ``chat_format``: rewriting a Hugging Face template's rendering to the serving (Ollama) template's
* ``tokenizing``: chat rendering, assistant-span planning, loss masking, ``build_examples``
* ``model``: importing the libraries, loading the base model, applying LoRA
* ``safetensors_io``: safetensors headers, and rewriting a merged folder's weights as float16
* ``export``: ``--export``: saving the adapter and the merged model, and checking both
* ``training``: the collator, the progress callback, ``fine_tune``, ``run_training``
* ``selftest``: ``--self-test`` on a tiny random model
* ``smoke``: ``--smoke`` on a real small base, with the commands that serve the result
* ``cli``: the command line, dispatch, signal handling and ``main``

The public names of every module are re-exported here (``train.py`` re-exports them in turn).
"""

from __future__ import annotations

from .chat_format import LLAMA31, LLAMA32, align_to_serving, serving_rule
from .cli import build_parser, main
from .config import (
    BACKENDS,
    CONFIG_KEYS,
    DEFAULT_TARGET_MODULES,
    EXPORT_MODES,
    INTEGER_KEYS,
    LR_SCHEDULERS,
    PROMPT_FORMATS,
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
from .export import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    MERGED_SUBDIR,
    Exported,
    check_adapter,
    check_merged,
    export,
    save_adapter,
    save_merged,
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
from .safetensors_io import convert_file_to_float16, ensure_float16, read_header, tensor_dtypes
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
from .smoke import SMOKE_CONFIG, run_smoke, serving_commands
from .tokenizing import (
    IGNORE_INDEX,
    ExampleStats,
    Span,
    build_examples,
    encode,
    merge_system_message,
    plan_examples,
    prompt_rule,
    render_chat,
    tokenize_with_mask,
)
from .training import (
    TrainOutcome,
    emit_done,
    fine_tune,
    make_collator,
    make_progress_callback,
    run_training,
    train_and_save,
    train_model,
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
    "PROMPT_FORMATS",
    "EXPORT_MODES",
    "INTEGER_KEYS",
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
    # chat_format
    "LLAMA31",
    "LLAMA32",
    "serving_rule",
    "align_to_serving",
    # tokenizing
    "IGNORE_INDEX",
    "Span",
    "render_chat",
    "prompt_rule",
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
    # safetensors_io
    "read_header",
    "tensor_dtypes",
    "convert_file_to_float16",
    "ensure_float16",
    # export
    "ADAPTER_WEIGHTS",
    "ADAPTER_CONFIG",
    "MERGED_SUBDIR",
    "Exported",
    "save_adapter",
    "save_merged",
    "check_adapter",
    "check_merged",
    "export",
    # training
    "make_collator",
    "make_progress_callback",
    "TrainOutcome",
    "train_model",
    "train_and_save",
    "emit_done",
    "fine_tune",
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
    # smoke
    "SMOKE_CONFIG",
    "serving_commands",
    "run_smoke",
    # cli
    "build_parser",
    "main",
]
