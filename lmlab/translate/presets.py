"""Named recipes for translation models (``lmlab train --task translate --model FAMILY --preset NAME``).

The families' defaults are sized to reach a useful result within minutes on a laptop's CPU; the published
configurations, which need hours there (or days: the papers' 1000-unit RNNs), are these presets. A preset sets the
family's sizes and the recipe published with them (the baseline's constant Adam 5e-4, where the default decays 2e-3
over the budget); flags and ``--config`` override both. ``lmlab train --task translate --model FAMILY --help`` lists
the family's presets with their summaries.

The ``multi30k-*`` presets of the RNN families are the sizes of the Multi30k baselines (bentrevett's
pytorch-seq2seq notebooks, the anchors of bench/bench_translate.py) with a constant Adam 1e-3 on batches of 128;
the papers' presets are their WMT'14 models (English-French; Luong et al.'s English-German), whose vocabularies
held 30,000 to 160,000 words, where lmlab's default is 8,000 BPE tokens per side: add ``--vocab-size``.
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


#: what the RNN families' minute-sized defaults change, put back: no warm-up, no decay, no label smoothing
_NO_SCHEDULE: dict[str, Any] = {"schedule": "constant", "warmup_steps": 0, "label_smoothing": 0.0}
#: the Multi30k baselines' recipe: Adam 1e-3, constant, batches of 128, clipped at 1
_ADAM_BASELINE: dict[str, Any] = {"optimizer": "adam", "lr": 1e-3, "batch_size": 128, "clip": 1.0, **_NO_SCHEDULE}

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
    "multi30k-bahdanau": Preset(
        "bahdanau",
        "the Multi30k baselines' attention GRU (bentrevett's notebook 3): 256-d embeddings, 512 units, alignment "
        "layer 512, linear output, dropout 0.5, constant Adam 1e-3 (about 25M parameters; 28.3 anchor BLEU after 10 "
        "epochs)",
        {"d_embed": 256, "d_hidden": 512, "d_attention": 512, "d_maxout": None, "dropout": 0.5, **_ADAM_BASELINE},
    ),
    "rnnsearch-50": Preset(
        "bahdanau",
        "Bahdanau et al. (2015)'s RNNsearch-50: 620-d embeddings, 1000 units, alignment layer 1000, maxout 500, no "
        "dropout, Adadelta (rho 0.95, eps 1e-6) on batches of 80, gradient norm clipped at 1 (trained on sentences of "
        "up to 50 words: add --max-len 50 to leave longer ones out)",
        {
            "d_embed": 620,
            "d_hidden": 1000,
            "d_attention": 1000,
            "d_maxout": 500,
            "dropout": 0.0,
            "optimizer": "adadelta",
            "lr": 1.0,
            "rho": 0.95,
            "batch_size": 80,
            "clip": 1.0,
            **_NO_SCHEDULE,
        },
    ),
    "multi30k-luong": Preset(
        "luong",
        "the Multi30k baselines' sizes with Luong's attention: 2 LSTM layers of 512, 256-d embeddings, dropout 0.3, "
        "constant Adam 1e-3",
        {"cell": "lstm", "d_embed": 256, "d_hidden": 512, "n_layer": 2, "dropout": 0.3, **_ADAM_BASELINE},
    ),
    "luong-2015": Preset(
        "luong",
        "Luong et al. (2015)'s global attention: 4 LSTM layers of 1000, 1000-d embeddings, general score, input "
        "feeding, dropout 0.2, SGD lr 1 on batches of 128 for 12 epochs, halved every epoch after the 8th, gradient "
        "norm clipped at 5, U(-0.1, 0.1) (the paper reads the source backwards; this family reads it forwards)",
        {
            "cell": "lstm",
            "d_embed": 1000,
            "d_hidden": 1000,
            "n_layer": 4,
            "score": "general",
            "input_feeding": True,
            "dropout": 0.2,
            "optimizer": "sgd",
            "lr": 1.0,
            "batch_size": 128,
            "epochs": 12,
            "clip": 5.0,
            **_NO_SCHEDULE,
            "schedule": "step",
            "lr_decay": 0.5,
            "decay_after": 8,
        },
    ),
    "multi30k-seq2seq": Preset(
        "seq2seq",
        "the Multi30k baselines' Sutskever LSTM (bentrevett's notebook 1): 2 layers of 512, 256-d embeddings, the "
        "context starts the decoder, dropout 0.5, constant Adam 1e-3 (13.8 anchor BLEU after 10 epochs)",
        {
            "cell": "lstm",
            "d_embed": 256,
            "d_hidden": 512,
            "n_layer": 2,
            "context": "initial",
            "reverse_source": False,
            "dropout": 0.5,
            **_ADAM_BASELINE,
        },
    ),
    "multi30k-cho": Preset(
        "seq2seq",
        "the Multi30k baselines' Cho et al. GRU (bentrevett's notebook 2): 1 layer of 512, 256-d embeddings, the "
        "context at every step, dropout 0.5, constant Adam 1e-3 (20.6 anchor BLEU after 10 epochs)",
        {
            "cell": "gru",
            "d_embed": 256,
            "d_hidden": 512,
            "n_layer": 1,
            "context": "every-step",
            "reverse_source": False,
            "dropout": 0.5,
            **_ADAM_BASELINE,
        },
    ),
    "sutskever-2014": Preset(
        "seq2seq",
        "Sutskever et al. (2014): 4 LSTM layers of 1000, 1000-d embeddings, the source read backwards, no dropout, SGD "
        "lr 0.7 on batches of 128 for 8 epochs, after the 5th divided by 4 each epoch (the paper: halved every half "
        "epoch), gradient norm clipped at 5, U(-0.08, 0.08)",
        {
            "cell": "lstm",
            "d_embed": 1000,
            "d_hidden": 1000,
            "n_layer": 4,
            "context": "initial",
            "reverse_source": True,
            "dropout": 0.0,
            "optimizer": "sgd",
            "lr": 0.7,
            "batch_size": 128,
            "epochs": 8,
            "clip": 5.0,
            **_NO_SCHEDULE,
            "schedule": "step",
            "lr_decay": 0.25,
            "decay_after": 5,
        },
    ),
}


def get_preset(name: str, family: str) -> dict[str, Any]:
    """The values of preset ``name`` for ``family``, or an LmlabError listing the family's presets."""
    if name not in PRESETS:
        raise LmlabError(f"unknown preset {name!r}; {family} presets: {', '.join(family_presets(family)) or 'none'}")
    preset = PRESETS[name]
    if preset.family != family:
        raise LmlabError(f"preset {name!r} is for --model {preset.family}, not {family}")
    return dict(preset.values)


def family_presets(family: str) -> dict[str, str]:
    """The presets of ``family``, name -> summary (what ``--help`` lists)."""
    return {name: p.summary for name, p in PRESETS.items() if p.family == family}


__all__ = ["PRESETS", "Preset", "family_presets", "get_preset"]
