"""A network's weights against its saved file: what is saved, what a file must hold before the network is built, and
loading with every mismatch named.

Every task loads a trained network the same way (:func:`load_network`): the network is first built on the ``meta``
device (shapes only), every tensor it saves is checked against the safetensors header of the file (which is itself
checked against the file's size: :func:`lmlab.runfiles.read_safetensors_header`), and only then is the network built
for real and the file read. So a configuration with a huge dimension, a weights file with bytes appended, or a file
whose tensors do not match the configuration is one line, before memory is taken for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.tensor_io import check_shapes, load_tensors

#: the weights of every trained network of a run (the engine writes the best ones so far here)
WEIGHTS_FILE = "model.safetensors"


def unique_state_dict(net: nn.Module) -> dict[str, Tensor]:
    """The network's tensors, each stored once (tied weights appear under their first name only)."""
    out, seen = {}, set()
    for name, t in net.state_dict().items():
        key = (t.data_ptr(), t.dtype, tuple(t.shape)) if t.numel() else (name,)
        if key in seen:
            continue
        seen.add(key)
        out[name] = t
    return out


#: Most bytes a network may hold beyond its saved weights (position tables, masks), unless the weights are larger.
MAX_DERIVED_BYTES = 2**30


def expected_shapes(net: nn.Module) -> dict[str, tuple[int, ...]]:
    """The shape of each tensor :func:`unique_state_dict` saves (tied tensors once, under their first name).

    Works on a network built on the ``meta`` device, which has shapes but no memory.
    """
    out, seen = {}, set()
    for name, t in net.state_dict(keep_vars=True).items():
        if id(t) not in seen:
            seen.add(id(t))
            out[name] = tuple(t.shape)
    return out


def check_weights_fit(path: Path, build: Callable[[], nn.Module]) -> None:
    """Check the weights file ``path`` against the network ``build()`` makes, before that network takes memory.

    The network is first built on the ``meta`` device (shapes only). Every tensor it saves must be in the file
    with the same shape, read from the file's header alone; and what it computes at build time but does not
    save (position tables, masks) must stay within :data:`MAX_DERIVED_BYTES` or the weights' own size. So a
    configuration with a huge dimension is refused without allocating anything for it.
    """
    try:
        with torch.device("meta"):
            net = build()
    except (RuntimeError, OverflowError, MemoryError) as e:
        raise LmlabError(f"{path}: the configuration cannot be built ({type(e).__name__}: {str(e)[:100]})") from None
    check_shapes(path, expected_shapes(net))
    saved = set(net.state_dict(keep_vars=True))
    derived = sum(b.numel() * b.element_size() for name, b in net.named_buffers() if name not in saved)
    weights = sum(p.numel() * p.element_size() for p in net.parameters())
    if derived > max(MAX_DERIVED_BYTES, weights):
        raise LmlabError(
            f"{path}: the configuration asks for {derived / 2**30:.1f} GiB of tables beyond its "
            f"{weights / 2**30:.2f} GiB of weights; its block_size or context length is too large"
        )


def load_state_into(net: nn.Module, tensors: dict[str, Tensor], where: str) -> None:
    """Load ``tensors`` into ``net``, or an LmlabError naming the first missing, extra or misshapen tensor."""
    expected = unique_state_dict(net)
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(net.state_dict()))
    if missing or extra:
        raise LmlabError(
            f"{where}: the weights do not match the configuration "
            f"({'missing ' + ', '.join(missing[:3]) if missing else 'unexpected ' + ', '.join(extra[:3])})"
        )
    for name, t in tensors.items():
        if name in expected and tuple(t.shape) != tuple(expected[name].shape):
            raise LmlabError(
                f"{where}: {name} has shape {tuple(t.shape)}, the configuration needs {tuple(expected[name].shape)}"
            )
    net.load_state_dict(tensors, strict=False)


def load_network(path: str | Path, build: Callable[[], nn.Module]) -> nn.Module:
    """The network ``build()`` makes, with the weights of the safetensors file ``path``, in eval mode.

    :func:`check_weights_fit` runs first, so nothing is allocated for a configuration the file does not match.
    A network loaded to run (every verb but training) runs on the threads the machine has free
    (:func:`lmlab.threads.inference_threads`, chosen once per process; a training chooses its own).
    """
    path = Path(path)
    _choose_threads_once()
    check_weights_fit(path, build)
    net = build()
    load_state_into(net, load_tensors(path, expected_shapes(net)), str(path))
    return net.eval()


_threads_chosen = False


def _choose_threads_once() -> None:
    global _threads_chosen
    if not _threads_chosen:
        from lmlab.threads import inference_threads

        inference_threads()
        _threads_chosen = True


__all__ = [
    "MAX_DERIVED_BYTES",
    "WEIGHTS_FILE",
    "check_weights_fit",
    "expected_shapes",
    "load_network",
    "load_state_into",
    "unique_state_dict",
]
