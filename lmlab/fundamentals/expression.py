"""Formulas in ``x`` typed on the command line (``--target "sin(3*x)"``, ``--activation "abs(50-x)"``), read
without ``eval``: the text is parsed by Python's own parser and only numbers, ``x``, arithmetic and the functions
of :data:`FUNCTIONS` are accepted; anything else is a one-line error naming what is not allowed.

A formula is a function of one float, computed with :mod:`math` under IEEE 754's rules, as PyTorch and NumPy
compute it elementwise in float64 (``tests/fundamentals/test_expression.py`` checks every function and operator
against PyTorch, infinities and NaN included): a division by zero gives ``±inf`` (``0/0`` NaN), an overflow
``inf``, a logarithm of a negative number NaN, and never an exception. Plain floats rather than tensors, so that
``lmlab conv`` imports neither PyTorch nor NumPy.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from lmlab.errors import LmlabError

INF, NAN = math.inf, math.nan


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y.is_integer() and int(y) % 2 == 1


def _div(a: float, b: float) -> float:
    """``a / b`` with IEEE 754's division by zero.

    >>> _div(1.0, 0.0), _div(-1.0, 0.0), _div(1.0, -0.0), _div(0.0, 0.0)
    (inf, -inf, -inf, nan)
    """
    if b == 0:
        return NAN if a == 0 or math.isnan(a) else math.copysign(INF, a) * math.copysign(1.0, b)
    return a / b


def _mod(a: float, b: float) -> float:
    """``a % b`` with the sign of ``b`` (Python's and ``torch.remainder``'s rule); NaN for ``b = 0``.

    >>> _mod(2.0, 3.0), _mod(-2.0, 3.0), _mod(2.0, 0.0)
    (2.0, 1.0, nan)
    """
    return NAN if b == 0 else a % b


def _pow(a: float, b: float) -> float:
    """``a ** b`` as C's ``pow``: a negative base to a fractional power is NaN, ``0 ** -1`` is ``inf``, an
    overflow ``±inf``.

    >>> _pow(2.0, 10.0), _pow(-8.0, 1 / 3), _pow(0.0, -1.0), _pow(-10.0, 401.0)
    (1024.0, nan, inf, -inf)
    """
    try:
        return math.pow(a, b)
    except OverflowError:
        return -INF if a < 0 and _is_odd_integer(b) else INF
    except ValueError:  # a pole (0 to a negative power) or outside the domain (a negative base, fractional b)
        if a == 0 and b < 0:
            return math.copysign(INF, a) if _is_odd_integer(b) else INF
        return NAN


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def _log(x: float) -> float:
    if x == 0:
        return -INF
    return math.log(x) if x > 0 else NAN  # NaN for x < 0 and for x NaN


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else NAN


def _periodic(fn: Callable[[float], float]) -> Callable[[float], float]:
    """``sin``, ``cos``, ``tan``: NaN at ``±inf`` (where :mod:`math` raises)."""
    return lambda x: fn(x) if math.isfinite(x) else NAN


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + _exp(-x))


def _relu(x: float) -> float:
    return x if x > 0 or math.isnan(x) else 0.0


def _sign(x: float) -> float:
    return 0.0 if math.isnan(x) else x if x == 0 else math.copysign(1.0, x)  # sign(NaN) = 0, as in PyTorch


def _floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x


def _maximum(a: float, b: float) -> float:
    return NAN if math.isnan(a) or math.isnan(b) else max(a, b)


def _minimum(a: float, b: float) -> float:
    return NAN if math.isnan(a) or math.isnan(b) else min(a, b)


FUNCTIONS: dict[str, Callable[..., float]] = {
    "abs": abs,
    "sin": _periodic(math.sin),
    "cos": _periodic(math.cos),
    "tan": _periodic(math.tan),
    "exp": _exp,
    "log": _log,
    "sqrt": _sqrt,
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "sign": _sign,
    "step": lambda x: 1.0 if x > 0 else 0.0,
    "floor": _floor,
    "max": _maximum,
    "min": _minimum,
}
CONSTANTS = {"pi": math.pi, "e": math.e}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _div, ast.Pow: _pow,
           ast.Mod: _mod}  # fmt: skip
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
MAX_LENGTH = 500


def parse_expression(text: str, what: str = "expression", variable: str = "x") -> Callable[[float], float]:
    """A function of one float computing ``text`` in float64.

    >>> f = parse_expression("abs(50 - x)")
    >>> f(4.0), f(77.0)
    (46.0, 27.0)
    >>> parse_expression("sin(pi*x/2) + x**2")(1.0)
    2.0
    >>> parse_expression("1/x")(0.0), parse_expression("log(x)")(-1.0)
    (inf, nan)
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

    def build(node: ast.AST) -> Callable[[float], float]:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            value = float(node.value)
            return lambda x: value
        if isinstance(node, ast.Name):
            if node.id == variable:
                return lambda x: x
            if node.id in CONSTANTS:
                value = CONSTANTS[node.id]
                return lambda x: value
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

    def f(x: float) -> float:
        return body(float(x))

    return f


__all__ = ["CONSTANTS", "FUNCTIONS", "parse_expression"]
