"""The neuron, activation functions (derivatives against autograd, functions against torch.nn.functional),
universal approximation (bumps by construction, the width sweep, the polynomial limit) and memorisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lmlab.errors import LmlabError
from lmlab.fundamentals.activations import ACTIVATIONS, neuron, plot_activations
from lmlab.fundamentals.approximation import (
    bump_network,
    fit_depths,
    fit_widths,
    polynomial_floor,
    relu_bump,
    sample_points,
)
from lmlab.fundamentals.expression import parse_expression
from lmlab.fundamentals.memorize import memorizing_network

# points away from the kinks at 0, where relu, step and leaky_relu have no derivative
Z = torch.cat([torch.linspace(-5, -0.01, 60), torch.linspace(0.01, 5, 60)]).double()


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_hand_written_derivatives_equal_autograd(name):
    a = ACTIVATIONS[name]
    z = Z.clone().requires_grad_(True)
    y = a.fn(z)
    # the step function is flat everywhere but at 0: autograd sees no dependence at all
    (auto,) = torch.autograd.grad(y.sum(), z) if y.requires_grad else (torch.zeros_like(Z),)
    torch.testing.assert_close(a.derivative(Z), auto, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name,ref",
    [("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", F.relu), ("leaky_relu", F.leaky_relu),
     ("elu", F.elu), ("softplus", lambda z: F.softplus(z, threshold=100)), ("gelu", F.gelu), ("silu", F.silu)],
)  # fmt: skip
def test_activations_equal_torch(name, ref):
    z = torch.linspace(-30, 30, 1001, dtype=torch.float64)
    torch.testing.assert_close(ACTIVATIONS[name].fn(z), ref(z), rtol=1e-12, atol=1e-12)


def test_neuron_is_the_weighted_sum_through_the_activation():
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    w = torch.tensor([0.5, -1.0])
    assert neuron(x, w, 0.5, "relu").tolist() == [0.0, 3.0]  # z = -1 and 3
    assert neuron(x, w, 0.5, "identity").tolist() == [-1.0, 3.0]


def test_activation_plot_is_a_png(tmp_path):
    out = plot_activations(tmp_path / "act.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_expressions():
    f = parse_expression("abs(50 - x)")
    assert [f(v) for v in (4.0, 11.0, 77.0)] == [46.0, 39.0, 27.0]
    assert [parse_expression("max(x, 0) - min(x, 0)")(v) for v in (-2.0, 3.0)] == [2.0, 3.0]
    assert parse_expression("-x**2 + 2*x % 3")(2.0) == -3.0
    for bad, message in [
        ("x.__class__", "Attribute is not allowed"),
        ("y + 1", "unknown name 'y'"),
        ("sin(x, x)", "takes 1 argument"),
        ("sin(", "is not a formula"),
        ("", "must be a formula"),
        ("(lambda: 1)()", "only plain calls"),
        ("'a'", "Constant is not allowed"),
    ]:
        with pytest.raises(LmlabError, match=message):
            parse_expression(bad, "--target")


# ---- universal approximation
def test_relu_pairs_make_bumps():
    x = torch.linspace(0, 6, 601, dtype=torch.float64)
    b = relu_bump(x, 1, 2, 4, 5)
    assert b.min() == 0 and b.max() == 1
    assert torch.all(b[(x > 2) & (x < 4)] == 1) and torch.all(b[(x < 1) | (x > 5)] == 0)


@pytest.mark.parametrize("target", [torch.sin, lambda x: torch.exp(x / 2), torch.cos])
def test_bump_networks_follow_a_function_within_the_bound_and_the_error_falls(target):
    lo, hi = -math.pi, math.pi
    x = torch.linspace(lo, hi, 2001, dtype=torch.float64).view(-1, 1)
    slope = float(((target(x[1:]) - target(x[:-1])) / (x[1:] - x[:-1])).abs().max())  # max |f'|
    errors = []
    for n in (5, 20, 80):
        net = bump_network(target, lo, hi, n)
        assert net[0].out_features == 4 * n  # two ReLU pairs per bump
        with torch.no_grad():
            err = float((net(x) - target(x)).abs().max())
        assert err <= slope * (hi - lo) / n
        errors.append(err)
    assert errors[0] > 2 * errors[1] > 4 * errors[2]


def test_width_lowers_the_error_of_relu_but_not_of_a_square_activation():
    x = sample_points(-math.pi, math.pi, 128)
    y = torch.sin(x)
    relu = fit_widths(x, y, [2, 32], "relu", steps=600)
    assert relu[1].mse < relu[0].mse / 10
    floor = polynomial_floor(x, y, 2)
    square = fit_widths(x, y, [2, 32], "poly2", steps=600)
    for fit in square:
        assert fit.mse >= floor * (1 - 1e-9)  # a polynomial of degree 2, whatever the width
        assert fit.mse <= floor * 1.01  # and training reaches that limit
    assert relu[1].mse < floor / 100
    # depth raises the degree: two square layers make a quartic and beat every quadratic
    deep = fit_depths(x, y, 4, [2], "poly2", steps=600)
    assert deep[0].mse < floor / 10
    assert deep[0].mse >= polynomial_floor(x, y, 4) * (1 - 1e-9)


def test_parameter_counts_of_the_fits():
    x = sample_points(-1, 1, 16)
    (fit,) = fit_widths(x, x.abs(), [8], "tanh", steps=5)
    assert fit.parameters == 8 * 2 + 8 + 1  # (1 -> 8) weights and biases, (8 -> 1) weights and bias
    (deep,) = fit_depths(x, x.abs(), 8, [3], "tanh", steps=5)
    assert deep.parameters == 16 + 2 * (64 + 8) + 9


def test_bad_sizes_are_refused():
    x = sample_points(-1, 1, 16)
    with pytest.raises(LmlabError, match="widths must be integers from 1"):
        fit_widths(x, x, [0], "relu", steps=1)
    with pytest.raises(LmlabError, match="--activation must be one of"):
        fit_widths(x, x, [2], "cubic", steps=1)
    with pytest.raises(LmlabError, match="lo < hi"):
        sample_points(1, 1)


@pytest.mark.parametrize("lr", [-1.0, 0.0, math.nan, math.inf, 11.0])
def test_a_learning_rate_adam_refuses_is_one_line_not_a_torch_error(lr):
    x = sample_points(-1, 1, 16)
    with pytest.raises(LmlabError, match=r"--lr must be a number above 0 and at most 10, got"):
        fit_widths(x, x, [2], "relu", steps=1, lr=lr)


# ---- memorisation
@pytest.mark.parametrize("m,d,k,seed", [(200, 10, 3, 0), (64, 1, 1, 1), (30, 50, 5, 2)])
def test_memorizing_network_reproduces_random_labels_exactly(m, d, k, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(m, d)), rng.normal(size=(m, k))
    net = memorizing_network(x, y, seed=seed)
    out = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, y, rtol=0, atol=1e-6)
    assert sum(p.numel() for p in net.parameters()) == (m - 1) * (d + 1) + (m - 1) * k + k  # of order m(d + k)


def test_memorizing_random_classes():
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(100, 784))  # 100 "images", random labels: a network can learn any labelling
    labels = rng.integers(0, 10, 100)
    net = memorizing_network(x, np.eye(10)[labels])
    assert (net(torch.from_numpy(x)).argmax(1).numpy() == labels).all()


def test_memorizing_repeated_and_conflicting_points():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0], [5.0, -1.0]])
    y = np.array([1.0, 2.0, 1.0, 3.0])
    out = memorizing_network(x, y)(torch.from_numpy(x)).detach().numpy().ravel()
    np.testing.assert_allclose(out, y, atol=1e-9)
    with pytest.raises(LmlabError, match="identical points have different labels"):
        memorizing_network(x, np.array([1.0, 2.0, 0.0, 3.0]))
    with pytest.raises(LmlabError, match="same m >= 2"):
        memorizing_network(x, y[:3])


def test_the_command_lines_activation_names_are_the_activations():
    """The parser lists activations from a module without PyTorch; they must be exactly the implemented ones."""
    from lmlab.fundamentals.activations import ACTIVATIONS
    from lmlab.fundamentals.names import ACTIVATION_NAMES

    assert tuple(ACTIVATIONS) == ACTIVATION_NAMES


def test_building_the_command_line_imports_no_pytorch():
    import subprocess
    import sys

    code = (
        "import sys, lmlab.cli.main as m\n"
        "try:\n    m.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600).stdout
    assert out.strip().splitlines()[-1] == "False"
