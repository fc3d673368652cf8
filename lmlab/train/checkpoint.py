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
from lmlab.runfiles import Field, check_fields, config_from_json, expect, is_type, list_of, read_versioned_json

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


def read_checkpoint_info(run: str | Path, config_class: type | None = None) -> dict[str, Any]:
    """The JSON part of a run's last checkpoint (no tensors read), or an LmlabError saying what is wrong.

    With ``config_class`` (the family's configuration dataclass, which the caller finds through the task table: the
    engine knows no task), the saved configuration is checked against it field by field."""
    path = _existing_checkpoint_dir(run)
    if path is None:
        if not Path(run).exists():
            raise LmlabError(f"--resume {run}: no such run directory")
        raise LmlabError(f"--resume {run}: no checkpoint to resume from (expected {checkpoint_dir(run)})")
    info = read_versioned_json(
        path / "state.json",
        CHECKPOINT_FORMAT,
        CHECKPOINT_VERSION,
        "checkpoint state",
        missing=f"{path}: corrupted checkpoint (state.json is missing)",
    )
    where = str(path / "state.json")
    check_fields(info, STATE_SCHEMA, where)
    if config_class is not None:
        config_from_json(config_class, info["config"], where, "config.")
    return info


def _number_pair(x: Any) -> bool:
    return isinstance(x, list) and len(x) == 2 and is_type(x[0], int) and is_type(x[1], float)


#: The fields of ``state.json`` that resuming reads.
STATE_SCHEMA = {
    "family": expect(str, required=True),
    "config": expect(dict, required=True),
    "data": expect(dict),
    "data.spec": expect(str, None),
    "data.encoding_errors": expect(str),
    "command": expect(str),
    "seed": expect(int, required=True),
    "step": expect(int, required=True),
    "task": expect(str),
    "units_seen": expect(int),
    "tokens_seen": expect(int),  # the name of units_seen in checkpoints written before tasks
    "elapsed_s": expect(float, required=True),
    "val_history": list_of(_number_pair, "a list of [step, loss] pairs", required=True),
    "best": Field("a [step, loss] pair or null", lambda v: v is None or _number_pair(v)),
    "pending": list_of(_number_pair, "a list of [step, loss] pairs"),
    "train_sha256": expect(str),
    "tokenizer_sha256": expect(str),
    "vocab_size": expect(int),
    "optimizer": expect(dict, required=True),
    "optimizer.param_groups": list_of(lambda g: isinstance(g, dict), "a list of objects", required=True),
    "optimizer.state": expect(dict, required=True),
}


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
