"""``lmlab cnn-shapes``: the shape after each layer of a convolutional network and its parameter count, from a
one-line spec, as the lecture computes them by hand::

    128x128x3 conv3x3x32 pool2 conv3x3x64 pool2 conv3x3x128 pool2 flatten fc1024 fc512 fc1000

gives 128x128x32, 64x64x32, 64x64x64, 32x32x64, 32x32x128, 16x16x128, 32,768 features and 34,686,504 parameters,
the lecture's walk-through.

Tokens (whitespace-separated): the input ``HxWxC`` (or ``HxW``, one channel) first, then

* ``convKxKxN`` (``convK_hxK_wxN``), optionally ``pP`` (padding) and ``sS`` (stride): N filters. Without ``pP``
  the padding is *same*, P = (K - 1)/2, which keeps the size at stride 1, as the lecture's networks do (an odd K
  then; ``p0`` for none). O = (W - K + 2P)/S + 1 must be a whole number; parameters (K_w*K_h*C_in + 1)*N;
* ``poolK`` / ``maxpoolK`` / ``avgpoolK``, optionally ``sS`` (stride, default K): ceil((W - K)/S) + 1, rounding
  up as the lecture (and ``lmlab conv``) does: a window over the edge is padded with -inf (an average pooling
  averages the pixels it covers); PyTorch's ``ceil_mode=True``; no parameters;
* ``bn`` (batch normalisation: a scale and a shift per channel, 2C), ``relu``, ``tanh``, ``sigmoid``,
  ``dropout`` (no parameters), ``gap`` (global average pooling to 1x1xC);
* ``flatten``, then ``fcN`` (fully connected: (inputs + 1)*N parameters).

References: Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lmlab.errors import LmlabError
from lmlab.nn.shapes import conv_parameters, output_size, pool_output_size

MAX_TOKENS = 500
MAX_SIZE = 1 << 20

#: The first line of the table: the two conventions a reader must know to check it by hand
CONVENTIONS = (
    "convolutions: same padding, P = (K - 1)/2, unless pP is given; pooling: ceil mode, a window over the edge "
    "padded with -inf"
)


@dataclass
class Layer:
    index: int  # 0 for the input
    token: str
    shape: tuple[int, ...]  # (H, W, C) or (N,) once flat
    parameters: int
    how: str  # the arithmetic, e.g. "(3*3*3 + 1)*32 = 896"


_CONV = re.compile(r"conv(\d+)x(\d+)x(\d+)((?:[ps]\d+)*)")
_POOL = re.compile(r"(max|avg)?pool(\d+)((?:s\d+)*)")
_FC = re.compile(r"fc(\d+)")
_INPUT = re.compile(r"(\d+)x(\d+)(?:x(\d+))?")
_OPTION = re.compile(r"([ps])(\d+)")


def _options(text: str, token: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in _OPTION.findall(text):
        if key in out:
            raise LmlabError(f"cnn-shapes: {token!r} gives {key} twice")
        out[key] = int(value)
    return out


def shape_text(shape: tuple[int, ...]) -> str:
    """``(126, 126, 32)`` -> ``126x126x32``."""
    return "x".join(map(str, shape))


def cnn_shapes(spec: str) -> list[Layer]:
    """Every layer's output shape and parameters.

    >>> rows = cnn_shapes("128x128x3 conv3x3x32 pool2 conv3x3x64 pool2 conv3x3x128 pool2 flatten fc1024 fc512 fc1000")
    >>> [shape_text(r.shape) for r in rows][1:8]
    ['128x128x32', '64x64x32', '64x64x64', '32x32x64', '32x32x128', '16x16x128', '32768']
    >>> rows[1].how
    'same: (W - K + 2P)/S + 1 = (128 - 3 + 2*1)/1 + 1 = 128; (3*3*3 + 1)*32 = 896'
    >>> sum(r.parameters for r in rows)
    34686504
    """
    tokens = spec.split()
    if not tokens:
        raise LmlabError("cnn-shapes: the spec is empty; start with the input, e.g. 28x28x1 conv5x5x6 pool2 ...")
    if len(tokens) > MAX_TOKENS:
        raise LmlabError(f"cnn-shapes: at most {MAX_TOKENS} layers, got {len(tokens)}")
    m = _INPUT.fullmatch(tokens[0])
    if not m:
        raise LmlabError(f"cnn-shapes: the spec must start with the input HxWxC (e.g. 128x128x3), got {tokens[0]!r}")
    h, w, c = int(m[1]), int(m[2]), int(m[3] or 1)
    if min(h, w, c) < 1 or max(h, w, c) > MAX_SIZE:
        raise LmlabError(f"cnn-shapes: the input sizes must be from 1 to {MAX_SIZE:,}, got {tokens[0]!r}")
    shape: tuple[int, ...] = (h, w, c)
    rows = [Layer(0, tokens[0], shape, 0, "input")]
    for i, token in enumerate(tokens[1:], start=1):
        where = f"layer {i} ({token})"
        t = token.lower()
        flat = len(shape) == 1
        if flat and (_CONV.fullmatch(t) or _POOL.fullmatch(t) or t in ("bn", "gap")):
            raise LmlabError(f"cnn-shapes: {where} needs an image, but the input is already flat ({shape[0]:,})")
        if conv := _CONV.fullmatch(t):
            rows.append(_conv_layer(i, token, conv, shape, where))
        elif pool := _POOL.fullmatch(t):
            rows.append(_pool_layer(i, token, pool, shape, where))
        elif t == "bn":
            rows.append(Layer(i, token, shape, 2 * shape[2], f"a scale and a shift per channel: 2*{shape[2]}"))
        elif t == "gap":
            rows.append(Layer(i, token, (1, 1, shape[2]), 0, "the mean of each channel"))
        elif t in ("relu", "tanh", "sigmoid", "dropout"):
            rows.append(Layer(i, token, shape, 0, "elementwise"))
        elif t == "flatten":
            n = 1
            for d in shape:
                n *= d
            rows.append(Layer(i, token, (n,), 0, " * ".join(map(str, shape)) + f" = {n:,}" if not flat else "flat"))
        elif fc := _FC.fullmatch(t):
            if not flat:
                raise LmlabError(f"cnn-shapes: {where} needs a flat input; put flatten before it")
            n = int(fc[1])
            if not 1 <= n <= MAX_SIZE:
                raise LmlabError(f"cnn-shapes: {where}: the width must be from 1 to {MAX_SIZE:,}")
            params = (shape[0] + 1) * n
            rows.append(Layer(i, token, (n,), params, f"({shape[0]:,} + 1)*{n:,} = {params:,}"))
        else:
            raise LmlabError(
                f"cnn-shapes: {where}: unknown layer; use convKxKxN[pP][sS], poolK[sS], maxpoolK, avgpoolK, bn, relu, "
                f"tanh, sigmoid, dropout, gap, flatten, fcN"
            )
        shape = rows[-1].shape
    return rows


def _same_padding(k: int, where: str) -> int:
    """P = (K - 1)/2, which keeps the size at stride 1; an even K has none (it would pad one side more)."""
    if k % 2 == 0:
        raise LmlabError(
            f"cnn-shapes: {where}: a kernel of {k} has no same padding ((K - 1)/2 = {(k - 1) / 2:g}); give the "
            "padding, e.g. p0 or p1"
        )
    return (k - 1) // 2


def _conv_layer(i: int, token: str, conv: re.Match, shape: tuple[int, ...], where: str) -> Layer:
    kh, kw, n = int(conv[1]), int(conv[2]), int(conv[3])
    opt = _options(conv[4], token)
    h, w, c = shape
    s = opt.get("s", 1)
    if min(kh, kw, n, s) < 1:
        raise LmlabError(f"cnn-shapes: {where}: kernel sizes, filters and stride must be >= 1")
    same = "p" not in opt
    ph, pw = (_same_padding(kh, where), _same_padding(kw, where)) if same else (opt["p"], opt["p"])
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise LmlabError(
            f"cnn-shapes: {where}: a {kh}x{kw} kernel on a {shape_text(shape)} input with padding {ph} shrinks it to "
            f"nothing ({h} - {kh} + 2*{ph} < 0)"
        )
    try:
        oh, ow = output_size(h, kh, ph, s), output_size(w, kw, pw, s)
    except LmlabError as e:
        raise LmlabError(f"cnn-shapes: {where}: {e}") from None
    params = conv_parameters(kh, kw, c, n)
    how = f"({kh}*{kw}*{c} + 1)*{n} = {params:,}"
    if ph or pw or s != 1:
        size = f"({h} - {kh} + 2*{ph})/{s} + 1 = {oh}"
        if (w, kw, pw) != (h, kh, ph):
            size += f", ({w} - {kw} + 2*{pw})/{s} + 1 = {ow}"
        how = f"{'same: ' if same else ''}(W - K + 2P)/S + 1 = {size}; {how}"
    return Layer(i, token, (oh, ow, n), params, how)


def _pool_layer(i: int, token: str, pool: re.Match, shape: tuple[int, ...], where: str) -> Layer:
    k = int(pool[2])
    s = _options(pool[3], token).get("s", k)
    h, w, c = shape
    if k < 1 or s < 1:
        raise LmlabError(f"cnn-shapes: {where}: the window and stride must be >= 1")
    if k > h or k > w:
        raise LmlabError(f"cnn-shapes: {where}: a {k}x{k} window on a {shape_text(shape)} input shrinks it to nothing")
    oh, ow = pool_output_size(h, k, s, ceil_mode=True), pool_output_size(w, k, s, ceil_mode=True)
    note = ""
    if (h - k) % s or (w - k) % s:
        covers = "averages the pixels it covers" if pool[1] == "avg" else "is padded with -inf"
        note = f" (ceil: the last window hangs over the edge and {covers})"
    return Layer(i, token, (oh, ow, c), 0, f"ceil(({h} - {k})/{s}) + 1 = {oh}{note}")


def format_shapes(rows: list[Layer]) -> str:
    """The table ``lmlab cnn-shapes`` prints, after a line with its conventions."""
    width = max(len(r.token) for r in rows)
    shape_w = max(len(shape_text(r.shape)) for r in rows)
    lines = [CONVENTIONS, f"{'layer':<{width}}  {'output':>{shape_w}}  {'parameters':>12}  how"]
    for r in rows:
        lines.append(f"{r.token:<{width}}  {shape_text(r.shape):>{shape_w}}  {r.parameters:>12,}  {r.how}")
    total = sum(r.parameters for r in rows)
    lines.append(f"{'total':<{width}}  {'':>{shape_w}}  {total:>12,}")
    return "\n".join(lines)


__all__ = ["Layer", "cnn_shapes", "format_shapes", "shape_text"]
