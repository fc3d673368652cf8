"""``lmlab conv``: a convolution worked by hand, as the lecture does it, every window and every sum printed::

    lmlab conv --image "1 2 3; 4 5 6; 7 8 9" --kernel "1 2; 3 4" --padding 1,0,1,0 --activation "abs(50-x)" --pool 2

The image is padded (``--padding P`` on every side, or ``T,B,L,R`` for each side: the lecture's padded example
adds zeros on the top and the left only), the kernel slides with ``--stride``, each output is the sum of the
window times the kernel (a cross-correlation: the kernel is not flipped); then, optionally, an activation
applied to every entry and a max pooling whose windows hang over the edge are padded with -inf (ceil mode), as
the lecture pads them.

Computed on lists of floats, a window at a time, as printed (each output is its printed terms summed left to
right), so that the command imports neither PyTorch nor NumPy; ``tests/vision/test_walkthrough.py`` checks it
against ``torch.nn.functional.conv2d`` and ``max_pool2d``. The lecture's own numbers, and its four slips in the
padded example, are in ``tests/nn/test_conv.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lmlab.errors import LmlabError
from lmlab.fundamentals.expression import parse_expression
from lmlab.nn.shapes import output_size, padding_sides, pool_output_size

MAX_SIDE = 64

Matrix = list[list[float]]


def parse_matrix(text: str, what: str) -> list[list[float]]:
    """Rows separated by ``;`` (or new lines), numbers by spaces or commas.

    >>> parse_matrix("1 2 3; 4 5 6", "--image")
    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    """
    rows = [r for r in text.replace("\n", ";").split(";") if r.strip()]
    try:
        matrix = [[float(v) for v in r.replace(",", " ").split()] for r in rows]
    except ValueError:
        raise LmlabError(f"{what} must be numbers, rows separated by ';' (e.g. \"1 2; 3 4\"), got {text!r}") from None
    if not matrix or not matrix[0]:
        raise LmlabError(f"{what} is empty; give rows separated by ';', e.g. \"1 2; 3 4\"")
    if any(len(r) != len(matrix[0]) for r in matrix):
        raise LmlabError(f"{what}: every row needs the same number of values, got {[len(r) for r in matrix]}")
    if len(matrix) > MAX_SIDE or len(matrix[0]) > MAX_SIDE:
        raise LmlabError(f"{what}: at most {MAX_SIDE}x{MAX_SIDE} (this prints every window)")
    if not all(math.isfinite(v) for r in matrix for v in r):
        raise LmlabError(f"{what}: every value must be a finite number")
    return matrix


def parse_padding(text: str) -> tuple[int, int, int, int]:
    """``"1"`` -> every side; ``"1,0,1,0"`` -> (top, bottom, left, right).

    >>> parse_padding("1"), parse_padding("1,0,1,0")
    ((1, 1, 1, 1), (1, 0, 1, 0))
    """
    try:
        values = [int(v) for v in str(text).split(",")]
        return padding_sides(values[0] if len(values) == 1 else tuple(values))
    except (ValueError, LmlabError):
        raise LmlabError(f"--padding must be P (every side) or T,B,L,R (integers >= 0), got {text!r}") from None


def fmt(v: float) -> str:
    """A number as the lecture writes it: integers without a decimal point.

    >>> fmt(37.0), fmt(-2.5), fmt(float("-inf"))
    ('37', '-2.5', '-inf')
    """
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def matrix_text(m: Matrix, indent: str = "  ") -> str:
    cells = [[fmt(v) for v in row] for row in m]
    width = max(len(c) for row in cells for c in row)
    return "\n".join(indent + "[" + " ".join(c.rjust(width) for c in row) + "]" for row in cells)


def pad(x: Matrix, top: int, bottom: int, left: int, right: int, value: float = 0.0) -> Matrix:
    """``x`` with ``value`` rows above and below and columns left and right.

    >>> pad([[1.0, 2.0]], 1, 0, 0, 1)
    [[0.0, 0.0, 0.0], [1.0, 2.0, 0.0]]
    """
    width = left + len(x[0]) + right
    return [
        *([value] * width for _ in range(top)),
        *([value] * left + row + [value] * right for row in x),
        *([value] * width for _ in range(bottom)),
    ]


def window(x: Matrix, i: int, j: int, kh: int, kw: int) -> Matrix:
    """The ``kh`` x ``kw`` block of ``x`` whose top-left corner is ``x[i][j]``."""
    return [row[j : j + kw] for row in x[i : i + kh]]


def flat(m: Matrix) -> list[float]:
    return [v for row in m for v in row]


def cross_correlation(xp: Matrix, k: Matrix, stride: int) -> Matrix:
    """``y[i][j] = sum_{u,v} k[u][v] * xp[i*S + u][j*S + v]`` over an already padded image, the products summed
    left to right as the walk-through prints them.

    >>> cross_correlation([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[1.0, 0.0], [0.0, 1.0]], 1)
    [[6.0, 8.0]]
    """
    kh, kw = len(k), len(k[0])
    oh, ow = (len(xp) - kh) // stride + 1, (len(xp[0]) - kw) // stride + 1
    kf = flat(k)
    return [
        [sum(a * b for a, b in zip(flat(window(xp, i * stride, j * stride, kh, kw)), kf)) for j in range(ow)]
        for i in range(oh)
    ]


def max_pool_ceil(x: Matrix, pool: int) -> Matrix:
    """Max pooling ``pool`` x ``pool``, stride ``pool``, ceil mode: the windows that hang over the edge are padded
    with -inf (PyTorch's ``max_pool2d(x, pool, ceil_mode=True)``).

    >>> max_pool_ceil([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], 2)
    [[5.0, 6.0], [8.0, 9.0]]
    """
    ph = pool_output_size(len(x), pool, pool, ceil_mode=True)
    pw = pool_output_size(len(x[0]), pool, pool, ceil_mode=True)
    padded = pad(x, 0, ph * pool - len(x), 0, pw * pool - len(x[0]), -math.inf)
    return [[max(flat(window(padded, i * pool, j * pool, pool, pool))) for j in range(pw)] for i in range(ph)]


@dataclass
class Walkthrough:
    feature_map: Matrix
    activated: Matrix | None = None
    pooled: Matrix | None = None
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines)


def walk_convolution(
    image: list[list[float]],
    kernel: list[list[float]],
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    stride: int = 1,
    activation: str | None = None,
    pool: int | None = None,
) -> Walkthrough:
    """The convolution, activation and pooling of a single-channel image, with every step written out.

    >>> w = walk_convolution([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 2], [3, 4]], (1, 0, 1, 0), 1, "abs(50-x)", 2)
    >>> w.feature_map, w.pooled
    ([[4.0, 11.0, 18.0], [18.0, 37.0, 47.0], [36.0, 67.0, 77.0]], [[46.0, 32.0], [17.0, 27.0]])
    """
    x = [[float(v) for v in row] for row in image]
    k = [[float(v) for v in row] for row in kernel]
    top, bottom, left, right = padding
    H, W = len(x), len(x[0])
    kh, kw = len(k), len(k[0])
    if max(padding) > MAX_SIDE:  # the padded image is printed, and allocated, whole
        raise LmlabError(f"--padding must be at most {MAX_SIDE} on each side, got {max(padding)}")
    if not (isinstance(stride, int) and 1 <= stride <= MAX_SIDE):
        raise LmlabError(f"--stride must be an integer from 1 to {MAX_SIDE}, got {stride!r}")
    if kh > H + top + bottom or kw > W + left + right:
        raise LmlabError(
            f"--kernel is {kh}x{kw}, larger than the padded image ({H + top + bottom}x{W + left + right}); "
            "use a smaller kernel or more --padding"
        )
    oh = output_size(H, kh, (top, bottom), stride)  # exact: a stride that does not fit is an error
    ow = output_size(W, kw, (left, right), stride)
    lines = [f"image ({H}x{W}):", matrix_text(x), f"kernel ({kh}x{kw}):", matrix_text(k)]
    xp = pad(x, top, bottom, left, right)
    if any(padding):
        lines += [f"padded with zeros (top {top}, bottom {bottom}, left {left}, right {right}):", matrix_text(xp)]
    p_text = "2P" if top == bottom and left == right else "P_total"
    lines.append(
        f"output size: (W - K + {p_text})/S + 1 = ({H} - {kh} + {top + bottom})/{stride} + 1 = {oh} rows, "
        f"({W} - {kw} + {left + right})/{stride} + 1 = {ow} columns"
    )
    y = cross_correlation(xp, k, stride)
    for i in range(oh):
        for j in range(ow):
            win = window(xp, i * stride, j * stride, kh, kw)
            terms = " + ".join(f"{fmt(a)}*{fmt(b)}" for a, b in zip(flat(win), flat(k)))
            rows = "; ".join(" ".join(fmt(v) for v in r) for r in win)
            lines.append(f"  out[{i},{j}]: window [{rows}] -> {terms} = {fmt(y[i][j])}")
    lines += [f"feature map ({oh}x{ow}):", matrix_text(y)]
    result = Walkthrough(y, lines=lines)
    if activation:
        f = parse_expression(activation, "--activation")
        a = [[f(v) for v in row] for row in y]
        if not all(math.isfinite(v) for row in a for v in row):
            raise LmlabError(f"--activation {activation!r} is not finite on this feature map")
        lines += [f"activation {activation}:", matrix_text(a)]
        result.activated = a
    if pool:
        src = result.activated if result.activated is not None else y
        if not (isinstance(pool, int) and pool >= 1):
            raise LmlabError(f"--pool must be an integer >= 1, got {pool!r}")
        if pool > min(len(src), len(src[0])):
            raise LmlabError(f"--pool {pool} is larger than the {len(src)}x{len(src[0])} map")
        pooled = max_pool_ceil(src, pool)
        ph, pw = len(pooled), len(pooled[0])
        padded = pad(src, 0, ph * pool - len(src), 0, pw * pool - len(src[0]), -math.inf)
        lines.append(f"max pooling {pool}x{pool}, stride {pool}, windows over the edge padded with -inf (ceil mode):")
        if (len(padded), len(padded[0])) != (len(src), len(src[0])):
            lines.append(matrix_text(padded))
        for i in range(ph):
            for j in range(pw):
                values = ", ".join(fmt(v) for v in flat(window(padded, i * pool, j * pool, pool, pool)))
                lines.append(f"  pool[{i},{j}] = max({values}) = {fmt(pooled[i][j])}")
        lines += [f"pooled ({ph}x{pw}):", matrix_text(pooled)]
        result.pooled = pooled
    return result


__all__ = ["Walkthrough", "parse_matrix", "parse_padding", "walk_convolution"]
