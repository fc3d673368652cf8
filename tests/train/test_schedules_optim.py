"""Every optimizer and schedule by name; the schedules' numbers; clipping; the recipe's checks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lmlab.errors import LmlabError
from lmlab.lm.config import TrainConfig
from lmlab.lm.presets import PRESETS, get_preset
from lmlab.train.config import OPTIMIZERS, SCHEDULES
from lmlab.train.optim import build_optimizer, clip_global_norm
from lmlab.train.schedules import LRSchedule, cosine_lr, plateau_scale, step_decay_lr


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_constructs_and_descends(name):
    torch.manual_seed(0)
    w = nn.Parameter(torch.tensor([3.0, -2.0]))
    lr = {"sgd": 0.1, "adagrad": 0.5, "adadelta": 100.0, "rmsprop": 0.05, "adam": 0.1, "adamw": 0.1}[name]
    opt = build_optimizer([w], TrainConfig(optimizer=name, lr=lr, momentum=0.5 if name == "sgd" else 0.0))
    start = (w**2).sum().item()
    for _ in range(20):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert (w**2).sum().item() < start / 2


def test_nesterov_and_weight_decay():
    opt = build_optimizer([nn.Parameter(torch.zeros(1))], TrainConfig(optimizer="sgd", momentum=0.9, nesterov=True))
    assert opt.param_groups[0]["nesterov"]
    opt = build_optimizer([nn.Parameter(torch.zeros(1))], TrainConfig(optimizer="adamw", weight_decay=0.1))
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["weight_decay"] == 0.1


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_takes_the_textbook_steps(name):
    """The fused kernel lmlab uses takes the same steps as torch's reference (for-loop) implementation."""
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(4, 3))
    b = nn.Parameter(torch.randn(3))
    w_ref, b_ref = nn.Parameter(w.detach().clone()), nn.Parameter(b.detach().clone())
    cfg = TrainConfig(optimizer=name, lr=0.01, beta2=0.99, weight_decay=0.1)
    opt = build_optimizer([w, b], cfg)
    assert opt.defaults["fused"]
    adam = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    ref = adam([{"params": [w_ref]}, {"params": [b_ref], "weight_decay": 0.0}], lr=0.01, betas=(0.9, 0.99),
               weight_decay=0.1, foreach=False)  # fmt: skip
    x = torch.randn(8, 4)
    for _ in range(5):
        for o, (ww, bb) in ((opt, (w, b)), (ref, (w_ref, b_ref))):
            o.zero_grad()
            torch.tanh(x @ ww + bb).pow(2).sum().backward()
            o.step()
    assert torch.allclose(w, w_ref, atol=1e-6) and torch.allclose(b, b_ref, atol=1e-6)


def test_zaremba_small_schedule():
    """lr 1 (in the paper's units) for 4 epochs, then halved every epoch, 13 epochs."""
    s = LRSchedule("step", 1.0, steps_per_epoch=10, total_steps=130, lr_decay=0.5, decay_after=4)
    per_epoch = [s.lr_at(e * 10) for e in range(13)]
    assert per_epoch == [1, 1, 1, 1, 0.5, 0.25, 0.125, 0.0625, 2**-5, 2**-6, 2**-7, 2**-8, 2**-9]
    assert s.lr_at(39) == 1 and s.lr_at(40) == 0.5


def test_cosine_and_warmup():
    assert cosine_lr(0, 1.0, 10, 110) == pytest.approx(0.1)
    assert cosine_lr(9, 1.0, 10, 110) == pytest.approx(1.0)
    assert cosine_lr(60, 1.0, 10, 110) == pytest.approx(0.5)
    assert cosine_lr(110, 1.0, 10, 110, min_lr=0.01) == 0.01
    values = [cosine_lr(s, 1.0, 0, 100) for s in range(100)]
    assert all(a >= b for a, b in zip(values, values[1:]))  # monotone after warm-up
    s = LRSchedule("constant", 2.0, 10, 100, warmup_steps=4)
    assert [s.lr_at(i) for i in range(5)] == [0.5, 1.0, 1.5, 2.0, 2.0]


def test_reduce_on_plateau_as_in_the_ptb_example():
    # the PyTorch example divides lr by 4 whenever the epoch's validation loss is not the best
    assert plateau_scale([], 4) == 1
    assert plateau_scale([5.0, 4.5, 4.4], 4) == 1
    assert plateau_scale([5.0, 4.5, 4.6], 4) == 0.25
    assert plateau_scale([5.0, 4.5, 4.6, 4.7], 4) == 1 / 16
    assert plateau_scale([5.0, 4.5, 4.6, 4.7], 4, patience=1) == 0.25
    s = LRSchedule("plateau", 20.0, 10, 100)
    assert s.lr_at(50, [5.0, 5.0]) == 5.0


def test_step_decay_function():
    assert step_decay_lr(1, 1.0, 0.8, 6) == 1.0
    assert step_decay_lr(8, 1.0, 0.8, 6) == pytest.approx(0.64)


def test_clip_global_norm():
    a, b = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    assert clip_global_norm([a, b], None).item() == pytest.approx(5.0)
    assert a.grad.tolist() == [3.0, 0.0]  # no clipping
    clip_global_norm([a, b], 0.5)
    total = math.sqrt(sum(float((p.grad**2).sum()) for p in (a, b)))
    assert total == pytest.approx(0.5, rel=1e-4)
    assert a.grad[0] / b.grad[0] == pytest.approx(3 / 4)  # direction kept


@pytest.mark.parametrize(
    "values, message",
    [
        ({"lr": 0.0}, "--lr must be > 0"),
        ({"lr": -1.0}, "--lr must be > 0"),
        ({"lr": float("nan")}, "--lr must be > 0"),
        ({"batch_size": 0}, "--batch-size must be an integer >= 1"),
        ({"seq_len": 0}, "--seq-len must be an integer >= 1"),
        ({"epochs": 0}, "--epochs must be an integer >= 1"),
        ({"max_steps": 0}, "--max-steps must be an integer >= 1"),
        ({"optimizer": "lbfgs"}, "--optimizer must be one of sgd"),
        ({"schedule": "linear"}, "--schedule must be one of constant"),
        ({"momentum": 1.0}, "--momentum must be in"),
        ({"nesterov": True}, "--nesterov must be used only with"),
        ({"clip": 0.0}, "--clip must be > 0"),
        ({"lr_decay": 1.5}, "--lr-decay must be in"),
        ({"init": "he"}, "--init must be one of default"),
        ({"device": "gpu"}, "--device must be auto, cpu"),
    ],
)
def test_bad_recipe_values(values, message):
    with pytest.raises(LmlabError, match=message):
        TrainConfig(**values)


def test_schedule_names_and_presets():
    for name in SCHEDULES:
        assert LRSchedule(name, 1.0, 10, 100).lr_at(0) > 0
    small = get_preset("zaremba-small", "lstm")
    assert (small["lr"], small["clip"], small["seq_len"], small["epochs"]) == (20.0, 0.25, 20, 13)
    from lmlab.lm.models import get_family

    for preset in PRESETS.values():
        for family in preset.families():
            get_family(family).config_class()(**preset.values)  # every preset is a valid configuration
    example = {f: get_preset("word-lm-example", f) for f in ("rnn", "lstm", "gru")}  # the published recipe, whole
    assert all((v["optimizer"], v["lr"], v["clip"], v["schedule"], v["warmup_steps"]) == ("sgd", 20.0, 0.25,
               "plateau", 0) for v in example.values())  # fmt: skip
    with pytest.raises(LmlabError, match="is for --model lstm"):
        get_preset("zaremba-small", "gru")
    with pytest.raises(LmlabError, match="unknown preset"):
        get_preset("zaremba-tiny", "lstm")
