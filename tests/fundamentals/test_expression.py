"""The formulas of ``--target`` and ``--activation`` are computed on plain floats with :mod:`math`; each function
and operator must give what PyTorch gives elementwise in float64, at infinities, NaN, signed zeros, poles and
overflows included."""

from __future__ import annotations

import ast
import itertools
import math

import pytest
import torch

from lmlab.fundamentals.expression import _BINARY, _UNARY, FUNCTIONS, parse_expression

VALUES = [-math.inf, -1e308, -1000.0, -710.0, -10.0, -3.0, -2.5, -1.0, -0.5, -1e-310, -0.0, 0.0, 1e-310, 0.5, 1.0,
          1.5, 2.0, 3.0, 10.0, 709.0, 710.0, 1000.0, 1e308, math.inf, math.nan]  # fmt: skip

REFERENCE_1 = {
    "abs": torch.abs,
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "sign": torch.sign,
    "step": lambda x: (x > 0).to(torch.float64),
    "floor": torch.floor,
}
REFERENCE_2 = {
    "max": torch.maximum,
    "min": torch.minimum,
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
    ast.Pow: torch.pow,
    ast.Mod: torch.remainder,
}


def assert_same(ours: list[float], theirs: torch.Tensor, where, rel_tol: float = 4e-16) -> None:
    """Equal NaN positions and infinities, finite values within an ulp or two (libm and PyTorch's vectorised
    kernels may round the last bit differently)."""
    for got, want, at in zip(ours, theirs.tolist(), where):
        if math.isnan(want) or math.isinf(want):
            assert got == want or (math.isnan(got) and math.isnan(want)), (at, got, want)
        else:
            assert math.isclose(got, want, rel_tol=rel_tol, abs_tol=1e-300), (at, got, want)


@pytest.mark.parametrize("name", sorted(REFERENCE_1))
def test_each_function_is_torchs(name):
    ours = [parse_expression(f"{name}(x)")(v) for v in VALUES]
    assert_same(ours, REFERENCE_1[name](torch.tensor(VALUES, dtype=torch.float64)), VALUES)


@pytest.mark.parametrize("op", list(REFERENCE_2), ids=str)
def test_each_operator_is_torchs(op):
    fn = FUNCTIONS[op] if isinstance(op, str) else _BINARY[op]
    pairs = list(itertools.product(VALUES, VALUES))
    a = torch.tensor([p[0] for p in pairs], dtype=torch.float64)
    b = torch.tensor([p[1] for p in pairs], dtype=torch.float64)
    # PyTorch's vectorised remainder divides first (NaN where a / b overflows); one element at a time it is exact
    one_by_one = op is ast.Mod
    want = torch.stack([REFERENCE_2[op](x, y) for x, y in zip(a, b)]) if one_by_one else REFERENCE_2[op](a, b)
    assert_same([fn(x, y) for x, y in pairs], want, pairs)


def test_every_function_and_operator_has_a_reference():
    assert set(FUNCTIONS) == set(REFERENCE_1) | {"max", "min"}
    assert set(_BINARY) == {k for k in REFERENCE_2 if not isinstance(k, str)} and set(_UNARY) == {ast.USub, ast.UAdd}


def test_a_formula_is_torchs_on_a_grid():
    formula = "sigmoid(3*x) * sqrt(abs(x)) - x**3 / (1 + exp(-x)) + max(log(x), -2) % 1.5"
    x = torch.linspace(-40, 40, 801, dtype=torch.float64)
    want = (
        torch.sigmoid(3 * x) * x.abs().sqrt()
        - x**3 / (1 + torch.exp(-x))
        + torch.remainder(torch.maximum(torch.log(x), torch.tensor(-2.0, dtype=torch.float64)), 1.5)
    )
    f = parse_expression(formula)
    assert_same([f(v) for v in x.tolist()], want, x.tolist(), rel_tol=1e-14)  # a few ulps, summed over the terms
