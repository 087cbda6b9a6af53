"""Recording stand-in for torch 2.10.0: dtypes, a pretend CUDA, ``tensor``, seeds (see pystub_record)."""

from __future__ import annotations

from typing import Any

from pystub_record import cuda_enabled, record_import, recorded

__version__ = "2.10.0"
record_import("torch", __file__)


class dtype:  # noqa: N801  (torch's own name)
    """A torch dtype: ``str(torch.float16) == "torch.float16"``."""

    def __init__(self, name: str, safetensors: str, floating: bool) -> None:
        self.name = name
        self.safetensors = safetensors
        self.is_floating_point = floating
        self.pystub_label = f"torch.{name}"

    def __repr__(self) -> str:
        return self.pystub_label

    __str__ = __repr__


float16 = dtype("float16", "F16", True)
bfloat16 = dtype("bfloat16", "BF16", True)
float32 = dtype("float32", "F32", True)
int64 = long = dtype("int64", "I64", False)


class _Cuda:
    """``torch.cuda``: available only with PYSTUB_CUDA=1 (then bfloat16 too, like an Ampere GPU)."""

    @recorded("torch.cuda.is_available", skip_self=True)
    def is_available(self) -> bool:
        return cuda_enabled()

    @recorded("torch.cuda.is_bf16_supported", skip_self=True)
    def is_bf16_supported(self, including_emulation: bool = True) -> bool:
        return cuda_enabled()

    def current_device(self) -> int:
        if not cuda_enabled():
            raise RuntimeError("Found no NVIDIA driver on your system.")
        return 0

    def empty_cache(self) -> None:
        return None


cuda = _Cuda()


class Tensor:
    """Nested lists with a dtype and a shape; enough for the collator's batches."""

    def __init__(self, data: Any, dtype: dtype | None) -> None:
        self.data = data
        self.dtype = dtype
        shape = []
        level = data
        while isinstance(level, list):
            shape.append(len(level))
            level = level[0] if level else None
        self.shape = tuple(shape)
        self.pystub_label = f"Tensor{list(self.shape)}"

    def tolist(self) -> Any:
        return self.data


def tensor(
    data: Any,
    *,
    dtype: dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    return Tensor(data, dtype)


@recorded("torch.manual_seed")
def manual_seed(seed: int) -> None:
    return None


class no_grad:  # noqa: N801  (torch's own name)
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
