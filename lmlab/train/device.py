"""Where training runs: the device, bf16 autocast on CUDA, and optional torch.compile with a clean fallback.

Written once here so that no training or benchmark script repeats the device/autocast block.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import torch
from torch import nn

from lmlab.errors import LmlabError

log = logging.getLogger(__name__)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda, else mps, else cpu; an explicit device that is not there is an LmlabError.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise LmlabError(
                f"--device {name}: no CUDA device is available (this torch {torch.__version__} "
                f"{'has no CUDA support' if torch.version.cuda is None else 'sees no GPU'}); use --device cpu"
            )
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise LmlabError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    if name == "mps" and not _mps_available():
        raise LmlabError("--device mps: Apple's Metal backend is not available here; use --device cpu")
    return torch.device(name)


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """bf16 autocast on a CUDA device that supports it; a no-op elsewhere (CPU and MPS train in float32)."""
    if enabled and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class CompiledOrEager:
    """Call ``torch.compile(module)``; if compiling is unavailable or fails on the first call, call the module.

    A failure is logged once as a warning, and training goes on in eager mode with the same parameters.
    """

    def __init__(self, module: nn.Module):
        self.module = module
        self.compiled: Any = None
        try:
            self.compiled = torch.compile(module)
        except Exception as e:  # no compiler on this platform, unsupported Python, ...
            log.warning("torch.compile is unavailable (%s: %s); training without it", type(e).__name__, e)

    def __call__(self, *args, **kwargs):
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as e:
                log.warning("torch.compile failed (%s: %s); training without it", type(e).__name__, str(e)[:200])
                self.compiled = None
        return self.module(*args, **kwargs)


__all__ = ["CompiledOrEager", "autocast", "resolve_device"]
