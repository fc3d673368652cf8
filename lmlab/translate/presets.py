"""Named recipes for translation models (``lmlab train --task translate --model transformer --preset NAME``).

The families' defaults are sized to reach a useful result within minutes on a laptop's CPU; the published
configurations, which need hours there, are these presets. A preset sets the family's sizes and the recipe published
with them (the baseline's constant Adam 5e-4, where the default decays 2e-3 over the budget); flags and ``--config``
override both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmlab.errors import LmlabError


@dataclass(frozen=True)
class Preset:
    family: str
    summary: str
    values: dict[str, Any]


PRESETS: dict[str, Preset] = {
    "multi30k-baseline": Preset(
        "transformer",
        "the Multi30k baselines' Transformer: 3 + 3 layers of width 256, 8 heads, d_ff 512, constant Adam 5e-4 (about "
        "10M parameters; 36.5 greedy BLEU after 10 epochs, hours on 2 CPU cores)",
        {
            "d_model": 256,
            "n_head": 8,
            "d_ff": 512,
            "n_encoder_layer": 3,
            "n_decoder_layer": 3,
            "lr": 5e-4,
            "schedule": "constant",
            "warmup_steps": 0,
        },
    ),
    "vaswani-base": Preset(
        "transformer",
        "Vaswani et al. (2017)'s base model: 6 + 6 layers of width 512, 8 heads, d_ff 2048, sinusoidal positions",
        {
            "d_model": 512,
            "n_head": 8,
            "d_ff": 2048,
            "n_encoder_layer": 6,
            "n_decoder_layer": 6,
            "positions": "sinusoidal",
        },
    ),  # fmt: skip
}


def get_preset(name: str, family: str) -> dict[str, Any]:
    """The values of preset ``name`` for ``family``, or an LmlabError listing the presets there are."""
    if name not in PRESETS:
        raise LmlabError(f"unknown preset {name!r}; translation presets: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    if preset.family != family:
        raise LmlabError(f"preset {name!r} is for --model {preset.family}, not {family}")
    return dict(preset.values)


__all__ = ["PRESETS", "Preset", "get_preset"]
