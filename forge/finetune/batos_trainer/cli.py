"""The command line: argparse, dispatch to ``--check``/``--self-test``/``--smoke``/training, ``main``.

The four forms (training, ``--check``, ``--self-test``, ``--smoke``), the stdout events and the
exit statuses are described in ``train.py``'s docstring and in README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from .config import EXPORT_MODES, load_config
from .dataset import run_check
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
from .selftest import SELF_TEST_CONFIG, run_self_test
from .smoke import run_smoke
from .training import run_training

#: ``--export`` when it is not given: the adapter and the merged model.
DEFAULT_EXPORT = "both"
USAGE = (
    "usage: train.py --dataset FILE --base MODEL --output DIR [--config JSON] [--seed N] "
    "[--export adapter|merged|both]"
)


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The command line; see train.py's docstring."""
    parser = _Parser(
        prog="train.py",
        description="LoRA fine-tune of a chat model on BAT OS samples; JSON events on stdout.",
    )
    parser.add_argument("--dataset", help="training samples, JSONL of {messages, meta}")
    parser.add_argument("--base", help="the base model: a Hugging Face id or a local folder")
    parser.add_argument(
        "--output",
        help="the folder for adapter_model.safetensors + adapter_config.json "
        "(and merged/ for the merged model)",
    )
    parser.add_argument("--config", help="hyper-parameters: a JSON file, or an inline JSON object")
    parser.add_argument("--seed", type=int, help="random seed (overrides the config's seed)")
    parser.add_argument(
        "--check", metavar="DATASET", help="validate a dataset and exit (standard library only)"
    )
    parser.add_argument(
        "--export",
        choices=EXPORT_MODES,
        help="adapter: the LoRA adapter only; merged or both (the default): the adapter and "
        "<output>/merged, the adapter merged into the base as a float16 Hugging Face folder",
    )
    parser.add_argument("--self-test", action="store_true", help="train a tiny random model end to end")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="on a GPU host: a few steps on --base with a built-in set, export both, "
        "print the serving commands",
    )
    return parser


def _given(args: argparse.Namespace, *flags: str) -> list[str]:
    """The named flags (e.g. "--dataset") that were given on the command line."""
    return [flag for flag in flags if getattr(args, flag[2:].replace("-", "_")) not in (None, False)]


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _dispatch(protocol: Protocol, args: argparse.Namespace) -> int:
    if args.check is not None:
        extra = _given(
            args, "--dataset", "--base", "--output", "--config", "--export", "--self-test", "--smoke"
        )
        if extra:
            raise UsageError(f"--check takes only a dataset path (also got {', '.join(extra)})")
        return run_check(protocol, args.check)
    signal.signal(signal.SIGTERM, _interrupt)
    if args.seed is not None and args.seed < 0:
        raise UsageError("--seed must be >= 0")
    if args.self_test:
        extra = _given(args, "--dataset", "--base", "--config", "--export", "--smoke")
        if extra:
            raise UsageError(f"--self-test takes only --output and --seed (also got {', '.join(extra)})")
        return run_self_test(protocol, args.output, SELF_TEST_CONFIG.seed if args.seed is None else args.seed)
    if args.smoke:
        extra = _given(args, "--dataset") + (
            ["--export " + args.export] if args.export not in (None, "both") else []
        )
        if extra or not args.base:
            problem = f"also got {', '.join(extra)}" if extra else "missing --base"
            raise UsageError(
                f"--smoke takes --base and optionally --output, --config, --seed ({problem}); "
                "it always exports both"
            )
        return run_smoke(protocol, args.base, args.output, args.config, args.seed)
    missing = [flag for flag in ("--dataset", "--base", "--output") if not getattr(args, flag[2:])]
    if missing:
        raise UsageError(f"missing {', '.join(missing)} ({USAGE})")
    cfg = load_config(args.config)
    if args.seed is not None:
        cfg = dataclasses.replace(cfg, seed=args.seed)
    return run_training(protocol, args.dataset, args.base, args.output, cfg, args.export or DEFAULT_EXPORT)


def _report_error(protocol: Protocol, message: str) -> None:
    """Prints the error event; a reader that has gone away (broken pipe) is ignored."""
    with contextlib.suppress(OSError):
        protocol.emit("error", message=message)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit status."""
    protocol = Protocol(open_protocol_stream())
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(protocol, args)
    except UsageError as exc:
        log(f"usage error: {exc}")
        _report_error(protocol, f"usage: {exc}")
        return EXIT_USAGE
    except TrainerError as exc:
        log(f"error: {exc}")
        _report_error(protocol, str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        log("interrupted")
        _report_error(protocol, "interrupted")
        return EXIT_FAILED
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:
        log(traceback.format_exc())
        _report_error(protocol, f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_FAILED
