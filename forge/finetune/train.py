#!/usr/bin/env python3
"""BAT OS fine-tuning trainer: LoRA on a persona's chat samples (the UnslothForge loop).

The bot runs this file as a child process and reads its standard output. That output is a
contract, shared by every trainer that ``FINETUNE_COMMAND`` may name instead of this one:

    train.py --dataset <train.jsonl> --base <hugging face id> --output <dir>
             [--config <json file | inline json object>] [--seed N] [--export adapter|merged|both]
    train.py --check <dataset.jsonl>
    train.py --self-test [--output <dir>] [--seed N]
    train.py --smoke --base <small hugging face id> [--output <dir>] [--config <json>] [--seed N]

* stdout carries only JSON objects, one per line, flushed per line:
  ``{"event":"start","total_steps":N,"backend":"unsloth|peft","samples":M}``,
  ``{"event":"progress","step":i,"total_steps":N,"loss":x,"learning_rate":y,"elapsed_s":s}``,
  ``{"event":"done","adapter_dir":"<dir>","merged_dir":"<dir>/merged","final_loss":x,"steps":N}``
  (``merged_dir`` only when a merged model was written) or ``{"event":"error","message":"..."}``.
  Library logs, warnings and progress bars go to stderr: the protocol is written to a duplicate
  of the original stdout descriptor, and descriptor 1 itself is pointed at stderr, so
  third-party prints cannot corrupt it.
* Exit status: 0 only after ``done``; 1 after an ``error`` event; 2 for a usage error
  (bad arguments or config), which also prints an ``error`` event.
* ``<output>/adapter_model.safetensors`` and ``<output>/adapter_config.json`` (PEFT layout)
  exist when ``done`` is printed; with ``--export merged`` or ``both`` (the default) so does
  ``<output>/merged/``, the adapter merged into the base as a float16 Hugging Face folder.

The code lives in the package ``batos_trainer`` beside this file (one module per concern;
see its ``__init__``). This file puts its own folder on ``sys.path``, so it runs from any
working directory with nothing installed, re-exports the package's public names (so
``import train`` keeps working) and calls ``batos_trainer.cli.main``. Only the standard
library is imported at module level, so ``--check``, ``--help`` and ``py_compile`` work without
torch; torch, transformers, peft and unsloth are imported inside the functions that train.
See README.md beside this file.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from batos_trainer import *  # noqa: E402, F403  (the public names, for `import train`)
from batos_trainer.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
