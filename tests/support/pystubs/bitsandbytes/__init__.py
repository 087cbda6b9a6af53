"""Stand-in for bitsandbytes 0.49.2: present, so train.py's QLoRA path (4-bit load, 8-bit AdamW) runs."""

from pystub_record import record_import

__version__ = "0.49.2"
record_import("bitsandbytes", __file__)
