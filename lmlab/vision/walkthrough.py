"""``lmlab conv``: a convolution worked by hand, as the lecture does it, every window and every sum printed::

    lmlab conv --image "1 2 3; 4 5 6; 7 8 9" --kernel "1 2; 3 4" --padding 1,0,1,0 --activation "abs(50-x)" --pool 2

The image is padded (``--padding P`` on every side, or ``T,B,L,R`` for each side: the lecture's padded example
adds zeros on the top and the left only), the kernel slides with ``--stride``, each output is the sum of the
window times the kernel (a cross-correlation: the kernel is not flipped); then, optionally, an activation
applied to every entry and a max pooling whose windows hang over the edge are padded with -inf (ceil mode), as
the lecture pads them.

The lecture's own numbers, and its four slips in the padded example, are in ``tests/nn/test_conv.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from lmlab.errors import LmlabError
from lmlab.fundamentals.expression import parse_expression
from lmlab.nn.conv import conv2d_sliding, max_pool2d, output_size, padding_sides, pool_output_size

MAX_SIDE = 64


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


def matrix_text(m: torch.Tensor, indent: str = "  ") -> str:
    cells = [[fmt(float(v)) for v in row] for row in m]
    width = max(len(c) for row in cells for c in row)
    return "\n".join(indent + "[" + " ".join(c.rjust(width) for c in row) + "]" for row in cells)


@dataclass
class Walkthrough:
    feature_map: torch.Tensor
    activated: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
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
    >>> w.feature_map.tolist(), w.pooled.tolist()
    ([[4.0, 11.0, 18.0], [18.0, 37.0, 47.0], [36.0, 67.0, 77.0]], [[46.0, 32.0], [17.0, 27.0]])
    """
    x = torch.tensor(image, dtype=torch.float64)
    k = torch.tensor(kernel, dtype=torch.float64)
    top, bottom, left, right = padding
    H, W = x.shape
    kh, kw = k.shape
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
    xp = torch.nn.functional.pad(x, (left, right, top, bottom))
    if any(padding):
        lines += [f"padded with zeros (top {top}, bottom {bottom}, left {left}, right {right}):", matrix_text(xp)]
    p_text = "2P" if top == bottom and left == right else "P_total"
    lines.append(
        f"output size: (W - K + {p_text})/S + 1 = ({H} - {kh} + {top + bottom})/{stride} + 1 = {oh} rows, "
        f"({W} - {kw} + {left + right})/{stride} + 1 = {ow} columns"
    )
    y = conv2d_sliding(x.view(1, 1, H, W), k.view(1, 1, kh, kw), None, stride, padding)[0, 0]
    for i in range(oh):
        for j in range(ow):
            window = xp[i * stride : i * stride + kh, j * stride : j * stride + kw]
            terms = " + ".join(f"{fmt(float(a))}*{fmt(float(b))}" for a, b in zip(window.flatten(), k.flatten()))
            rows = "; ".join(" ".join(fmt(float(v)) for v in r) for r in window)
            lines.append(f"  out[{i},{j}]: window [{rows}] -> {terms} = {fmt(float(y[i, j]))}")
    lines += [f"feature map ({oh}x{ow}):", matrix_text(y)]
    result = Walkthrough(y, lines=lines)
    if activation:
        f = parse_expression(activation, "--activation")
        a = f(y)
        if not torch.isfinite(a).all():
            raise LmlabError(f"--activation {activation!r} is not finite on this feature map")
        lines += [f"activation {activation}:", matrix_text(a)]
        result.activated = a
    if pool:
        src = result.activated if result.activated is not None else y
        if not (isinstance(pool, int) and pool >= 1):
            raise LmlabError(f"--pool must be an integer >= 1, got {pool!r}")
        if pool > min(src.shape):
            raise LmlabError(f"--pool {pool} is larger than the {src.shape[0]}x{src.shape[1]} map")
        ph = pool_output_size(src.shape[0], pool, pool, ceil_mode=True)
        pw = pool_output_size(src.shape[1], pool, pool, ceil_mode=True)
        pooled = max_pool2d(src.view(1, 1, *src.shape), pool, ceil_mode=True)[0, 0]
        padded = torch.full((ph * pool, pw * pool), -math.inf, dtype=torch.float64)
        padded[: src.shape[0], : src.shape[1]] = src
        lines.append(f"max pooling {pool}x{pool}, stride {pool}, windows over the edge padded with -inf (ceil mode):")
        if padded.shape != src.shape:
            lines.append(matrix_text(padded))
        for i in range(ph):
            for j in range(pw):
                window = padded[i * pool : (i + 1) * pool, j * pool : (j + 1) * pool]
                values = ", ".join(fmt(float(v)) for v in window.flatten())
                lines.append(f"  pool[{i},{j}] = max({values}) = {fmt(float(pooled[i, j]))}")
        lines += [f"pooled ({ph}x{pw}):", matrix_text(pooled)]
        result.pooled = pooled
    return result


__all__ = ["Walkthrough", "parse_matrix", "parse_padding", "walk_convolution"]
