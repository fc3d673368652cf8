"""Training checkpoints: everything needed to continue a run exactly, as safetensors and JSON, never pickle.

``RUN/checkpoints/last/`` holds

* ``model.safetensors``: the network's weights;
* ``optimizer.safetensors``: the optimizer's tensors (momentum buffers, Adam moments, step counts);
* ``state.safetensors``: the RNG states (CPU, and CUDA when present) and the recurrent state carried between
  batches;
* ``state.json``: the family, the full configuration, the tokenizer, the data, the step, the validation history
  (which also drives reduce-on-plateau and early stopping), the optimizer's hyperparameters and the hash of the
  training tokens.

The directory is written under a temporary name and renamed into place, so a crash leaves the previous checkpoint
whole (and a ``checkpoints`` folder that is a link out of the run is refused, not written through); every tensor
file carries a checksum, so a damaged one is an error, not wrong numbers. Tensors are read onto the CPU and moved
to the training device, so a checkpoint written on a GPU resumes on a CPU.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lmlab.errors import LmlabError
from lmlab.io import atomic_dir
from lmlab.nn.tensor_io import load_tensors, save_tensors
from lmlab.rundir import require_no_link

CHECKPOINT_FORMAT = "lmlab-checkpoint"
CHECKPOINT_VERSION = 1


def checkpoint_dir(run: str | Path) -> Path:
    return Path(run) / "checkpoints" / "last"


def _existing_checkpoint_dir(run: str | Path) -> Path | None:
    path = checkpoint_dir(run)
    if path.is_dir():
        return path
    old = path.with_name(".last.old")  # a crash between the two renames of atomic_dir leaves only this
    return old if old.is_dir() else None


def read_checkpoint_info(run: str | Path) -> dict[str, Any]:
    """The JSON part of a run's last checkpoint (no tensors read), or an LmlabError saying what is wrong."""
    path = _existing_checkpoint_dir(run)
    if path is None:
        if not Path(run).exists():
            raise LmlabError(f"--resume {run}: no such run directory")
        raise LmlabError(f"--resume {run}: no checkpoint to resume from (expected {checkpoint_dir(run)})")
    try:
        info = json.loads((path / "state.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LmlabError(f"{path}: corrupted checkpoint (state.json is missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LmlabError(f"{path}/state.json: corrupted or truncated checkpoint ({e})") from None
    if not isinstance(info, dict) or info.get("format") != CHECKPOINT_FORMAT:
        raise LmlabError(f"{path}/state.json: not an lmlab checkpoint")
    if info.get("version") != CHECKPOINT_VERSION:
        raise LmlabError(f"{path}: checkpoint version {info.get('version')!r} is not supported")
    return info


# ---- optimizer state as tensors + JSON
def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    sd = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"state.{pid}.{key}"] = value
            else:
                plain.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "state": plain}


def optimizer_from_tensors(
    optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor], meta: dict[str, Any], where: str
) -> None:
    state: dict[int, dict[str, Any]] = {}
    try:
        for name, t in tensors.items():
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = t
        for pid, values in meta["state"].items():
            state.setdefault(int(pid), {}).update(values)
        groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in meta["param_groups"]]
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (KeyError, ValueError, TypeError) as e:
        raise LmlabError(f"{where}: the optimizer state does not match the model ({e})") from None


def save_checkpoint(
    run: str | Path,
    *,
    model_tensors: dict[str, Tensor],
    optimizer: torch.optim.Optimizer,
    carried_state: tuple[Tensor, ...] | None,
    info: dict[str, Any],
) -> Path:
    """Write ``RUN/checkpoints/last`` atomically; ``info`` is the JSON-serialisable part."""
    opt_tensors, opt_meta = optimizer_to_tensors(optimizer)
    extra = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        extra["rng.cuda"] = torch.cuda.get_rng_state()
    for i, t in enumerate(carried_state or ()):
        extra[f"carried.{i}"] = t
    full = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        **info,
        "optimizer": opt_meta,
        "torch_version": torch.__version__,
    }
    path = checkpoint_dir(run)
    require_no_link(path.parent, directory=True)  # mkdir and the temporary folder would go through a link
    require_no_link(path, directory=True)
    path.parent.mkdir(exist_ok=True)
    with atomic_dir(path) as tmp:
        save_tensors(tmp / "model.safetensors", model_tensors)
        save_tensors(tmp / "optimizer.safetensors", opt_tensors)
        save_tensors(tmp / "state.safetensors", extra)
        (tmp / "state.json").write_text(json.dumps(full, indent=1) + "\n", encoding="utf-8")
    return path


def load_checkpoint(run: str | Path) -> tuple[dict[str, Any], dict[str, Tensor], dict[str, Tensor], dict[str, Tensor]]:
    """``(info, model tensors, optimizer tensors, state tensors)`` of the last checkpoint, on the CPU."""
    info = read_checkpoint_info(run)
    path = _existing_checkpoint_dir(run)
    assert path is not None
    return (
        info,
        load_tensors(path / "model.safetensors"),
        load_tensors(path / "optimizer.safetensors"),
        load_tensors(path / "state.safetensors"),
    )


def restore_rng(state_tensors: dict[str, Tensor]) -> None:
    torch.set_rng_state(state_tensors["rng.torch"])
    if "rng.cuda" in state_tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(state_tensors["rng.cuda"])


def carried_state(state_tensors: dict[str, Tensor], device: torch.device) -> tuple[Tensor, ...] | None:
    parts = sorted((int(k.split(".")[1]), t) for k, t in state_tensors.items() if k.startswith("carried."))
    return tuple(t.to(device) for _, t in parts) if parts else None


__all__ = [
    "CHECKPOINT_FORMAT",
    "carried_state",
    "checkpoint_dir",
    "load_checkpoint",
    "optimizer_from_tensors",
    "optimizer_to_tensors",
    "read_checkpoint_info",
    "restore_rng",
    "save_checkpoint",
]
