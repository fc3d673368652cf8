"""Translation presets (issue 26): the default Transformer is sized for minutes, the published sizes are presets."""

from __future__ import annotations

import json

from lmlab.translate.models.transformer import TransformerConfig
from lmlab.translate.presets import PRESETS


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
    assert rc == 2 and "unknown preset 'nope'; translation presets: multi30k-baseline, vaswani-base" in err
    bahdanau = [a if a != "transformer" else "bahdanau" for a in argv if a not in ("--d-ff", "32")]
    rc, _, err = cli(*bahdanau)
    assert rc == 2 and "preset 'multi30k-baseline' is for --model transformer, not bahdanau" in err
