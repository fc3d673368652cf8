"""Translation presets (issue 26): the default Transformer is sized for minutes, the published sizes are presets."""

from __future__ import annotations

import json
import re

from lmlab.translate.models.transformer import TransformerConfig
from lmlab.translate.presets import PRESETS
from lmlab.translate.task import RECIPES


def test_the_default_is_small_and_the_baseline_is_a_preset():
    fields = {f: getattr(TransformerConfig, f) for f in ("d_model", "n_head", "d_ff", "n_encoder_layer")}
    assert fields == {"d_model": 128, "n_head": 4, "d_ff": 512, "n_encoder_layer": 2}
    assert PRESETS["multi30k-baseline"].values["d_model"] == 256 and PRESETS["vaswani-base"].values["d_ff"] == 2048
    from lmlab.translate.models import get_translator

    recipe = get_translator("transformer").recipe  # sized for a 5-minute budget: a high rate decayed over it
    assert (recipe["lr"], recipe["schedule"], recipe["warmup_steps"]) == (2e-3, "cosine", 50)


def test_a_preset_trains_and_flags_override_it(cli, toy_dir, tmp_path, capsys):
    import pytest

    from lmlab.cli.main import main

    with pytest.raises(SystemExit):
        main(["train", "--task", "translate", "--model", "transformer", "--help"])
    out = capsys.readouterr().out
    assert "multi30k-baseline" in out and "vaswani-base" in out
    argv = ["train", "--task", "translate", "--model", "transformer", "--data", toy_dir, "--src", "de", "--tgt", "en",
            "--preset", "multi30k-baseline", "--d-ff", "32", "--max-steps", "1", "--batch-size", "8", "--device", "cpu",
            "--out", tmp_path / "r"]  # fmt: skip
    rc, out, err = cli(*argv)
    assert rc == 0, err
    model = json.loads((tmp_path / "r" / "config.json").read_text())["model"]
    assert (model["d_model"], model["n_encoder_layer"], model["d_ff"]) == (256, 3, 32)
    assert (model["lr"], model["schedule"], model["warmup_steps"]) == (5e-4, "constant", 0)  # the baseline's recipe
    rc, _, err = cli(*[a if a != "multi30k-baseline" else "nope" for a in argv])
    assert rc == 2 and "unknown preset 'nope'; transformer presets: multi30k-baseline, vaswani-base\n" in err
    bahdanau = [a if a != "transformer" else "bahdanau" for a in argv if a not in ("--d-ff", "32")]
    rc, _, err = cli(*bahdanau)
    assert rc == 2 and "preset 'multi30k-baseline' is for --model transformer, not bahdanau" in err


RNN_DEFAULTS = {
    "bahdanau": {"d_embed": 128, "d_hidden": 256, "d_attention": 256, "d_maxout": 128},
    "luong": {"d_embed": 128, "d_hidden": 256, "n_layer": 1},
    "seq2seq": {"d_embed": 128, "d_hidden": 256, "n_layer": 1},
}


def test_the_rnn_defaults_are_small_and_the_papers_are_presets():
    from lmlab.translate.models import get_translator

    for family, sizes in RNN_DEFAULTS.items():
        entry = get_translator(family)
        assert {f: getattr(entry.config_class(), f) for f in sizes} == sizes
        recipe = entry.recipe  # decayed over the budget, as the Transformer's
        assert (recipe["schedule"], recipe["warmup_steps"], recipe["batch_size"]) == ("cosine", 50, 64)
    papers = {
        "rnnsearch-50": ("bahdanau", {"d_embed": 620, "d_hidden": 1000, "d_attention": 1000, "d_maxout": 500,
                                      "optimizer": "adadelta", "batch_size": 80, "clip": 1.0}),
        "luong-2015": ("luong", {"d_embed": 1000, "d_hidden": 1000, "n_layer": 4, "optimizer": "sgd", "lr": 1.0,
                                 "clip": 5.0, "dropout": 0.2, "input_feeding": True}),
        "sutskever-2014": ("seq2seq", {"d_embed": 1000, "d_hidden": 1000, "n_layer": 4, "reverse_source": True,
                                       "optimizer": "sgd", "lr": 0.7, "clip": 5.0}),
        "multi30k-bahdanau": ("bahdanau", {"d_embed": 256, "d_hidden": 512, "d_maxout": None, "lr": 1e-3,
                                           "schedule": "constant", "batch_size": 128}),
    }  # fmt: skip
    for name, (family, values) in papers.items():
        preset = PRESETS[name]
        assert preset.family == family and {k: preset.values[k] for k in values} == values


def test_every_preset_is_a_valid_configuration_of_its_family():
    from lmlab.translate.models import get_translator

    vocab = {"src_vocab_size": 100, "tgt_vocab_size": 100, "bos_id": 2, "eos_id": 3}
    for name, preset in PRESETS.items():
        entry = get_translator(preset.family)
        values = {**entry.recipe, **preset.values}
        cfg = entry.train_config_class()(**vocab, **values)  # an unknown key or a bad value raises
        assert all(getattr(cfg, k) == v for k, v in values.items()), name


def test_help_lists_the_familys_presets_with_their_summaries(capsys):
    import pytest

    from lmlab.cli.main import main
    from lmlab.translate.presets import family_presets

    for family in ("bahdanau", "luong", "seq2seq", "transformer"):
        with pytest.raises(SystemExit):
            main(["train", "--task", "translate", "--model", family, "--help"])
        out = capsys.readouterr().out
        listing = out[out.index(f"{family} presets (--preset NAME") : out.index(f"{family} hyperparameters")]
        presets = family_presets(family)
        assert len(presets) >= 2
        for name, summary in presets.items():  # one entry per preset, its summary wrapped below its name
            assert f"\n  {name}: " in listing and " ".join(listing.split()).count(summary) == 1
        others = [n for n, p in PRESETS.items() if p.family != family]
        assert not any(f"{n}:" in listing for n in others)
        # the defaults shown are the family's recipe, the values a run without flags trains with
        text = " ".join(out.split())  # each flag: its metavar, what it does, then its default
        for key, value in RECIPES[family].items():
            flag = "--" + key.replace("_", "-")
            assert re.search(rf"{flag} \S+ (?:(?!\(default: ).)*\(default: {re.escape(str(value))}\)", text), flag


def test_a_papers_preset_trains_with_its_recipe(cli, toy_dir, tmp_path):
    argv = ["train", "--task", "translate", "--model", "bahdanau", "--data", toy_dir, "--src", "de", "--tgt", "en",
            "--preset", "rnnsearch-50", "--d-embed", "8", "--d-hidden", "8", "--d-attention", "8", "--max-steps", "2",
            "--batch-size", "8", "--device", "cpu", "--out", tmp_path / "r"]  # fmt: skip
    rc, out, err = cli(*argv)
    assert rc == 0, err
    model = json.loads((tmp_path / "r" / "config.json").read_text())["model"]
    assert (model["d_embed"], model["d_maxout"], model["batch_size"]) == (8, 500, 8)  # flags override the preset
    recipe = (model["optimizer"], model["lr"], model["schedule"], model["label_smoothing"])
    assert recipe == ("adadelta", 1.0, "constant", 0.0)  # the paper's, not the default's decaying Adam
