"""Formulas in ``x`` typed on the command line (``--target "sin(3*x)"``, ``--activation "abs(50-x)"``), read
without ``eval``: the text is parsed by Python's own parser and only numbers, ``x``, arithmetic and the functions
of :data:`FUNCTIONS` are accepted; anything else is a one-line error naming what is not allowed.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

import torch
from torch import Tensor

from lmlab.errors import LmlabError


def _tensor_fn(fn: Callable[[Tensor], Tensor]) -> Callable[..., Tensor]:
    return lambda *args: fn(*[torch.as_tensor(a, dtype=torch.float64) for a in args])


FUNCTIONS: dict[str, Callable[..., Tensor]] = {
    "abs": _tensor_fn(torch.abs),
    "sin": _tensor_fn(torch.sin),
    "cos": _tensor_fn(torch.cos),
    "tan": _tensor_fn(torch.tan),
    "exp": _tensor_fn(torch.exp),
    "log": _tensor_fn(torch.log),
    "sqrt": _tensor_fn(torch.sqrt),
    "tanh": _tensor_fn(torch.tanh),
    "sigmoid": _tensor_fn(torch.sigmoid),
    "relu": _tensor_fn(torch.relu),
    "sign": _tensor_fn(torch.sign),
    "step": _tensor_fn(lambda x: (x > 0).to(torch.float64)),
    "floor": _tensor_fn(torch.floor),
    "max": _tensor_fn(torch.maximum),
    "min": _tensor_fn(torch.minimum),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow, ast.Mod: operator.mod}  # fmt: skip
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
MAX_LENGTH = 500


def parse_expression(text: str, what: str = "expression", variable: str = "x") -> Callable[[Tensor], Tensor]:
    """A function of one tensor computing ``text`` elementwise in float64.

    >>> f = parse_expression("abs(50 - x)")
    >>> f(torch.tensor([4.0, 77.0])).tolist()
    [46.0, 27.0]
    >>> parse_expression("sin(pi*x/2) + x**2")(torch.tensor([1.0])).tolist()
    [2.0]
    >>> parse_expression("open(x)", "--target")
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: --target 'open(x)': unknown function 'open'; allowed: abs, sin, cos, tan, exp, log, \
sqrt, tanh, sigmoid, relu, sign, step, floor, max, min
    """
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        raise LmlabError(f"{what} must be a formula in {variable} of at most {MAX_LENGTH} characters, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise LmlabError(f"{what} {text!r} is not a formula ({e.msg} at column {e.offset})") from None

    def build(node: ast.AST) -> Callable[[Tensor], Tensor]:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            value = float(node.value)
            return lambda x: torch.full_like(x, value)
        if isinstance(node, ast.Name):
            if node.id == variable:
                return lambda x: x
            if node.id in CONSTANTS:
                value = CONSTANTS[node.id]
                return lambda x: torch.full_like(x, value)
            raise LmlabError(f"{what} {text!r}: unknown name {node.id!r}; use {variable}, pi, e")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op, left, right = _BINARY[type(node.op)], build(node.left), build(node.right)
            return lambda x: op(left(x), right(x))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            op, inner = _UNARY[type(node.op)], build(node.operand)
            return lambda x: op(inner(x))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            name = node.func.id
            if name not in FUNCTIONS:
                raise LmlabError(f"{what} {text!r}: unknown function {name!r}; allowed: {', '.join(FUNCTIONS)}")
            fn, args = FUNCTIONS[name], [build(a) for a in node.args]
            want = 2 if name in ("max", "min") else 1
            if len(args) != want:
                raise LmlabError(f"{what} {text!r}: {name}() takes {want} argument(s), got {len(args)}")
            return lambda x: fn(*[a(x) for a in args])
        if isinstance(node, ast.Call):
            raise LmlabError(f"{what} {text!r}: only plain calls of {', '.join(FUNCTIONS)} are allowed")
        raise LmlabError(f"{what} {text!r}: {type(node).__name__} is not allowed (numbers, {variable}, + - * / ** "
                         f"and {', '.join(FUNCTIONS)} only)")  # fmt: skip

    body = build(tree.body)

    def f(x: Tensor) -> Tensor:
        return body(torch.as_tensor(x, dtype=torch.float64))

    return f


__all__ = ["CONSTANTS", "FUNCTIONS", "parse_expression"]
