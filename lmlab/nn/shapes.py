"""The arithmetic of convolution and pooling layers: paddings, output sizes and parameter counts, without PyTorch
(``lmlab cnn-shapes`` and ``lmlab conv`` use it without importing any)."""

from __future__ import annotations

from collections.abc import Sequence

from lmlab.errors import LmlabError

#: an int (all sides), a pair (height, width: each on both sides, as PyTorch), or (top, bottom, left, right)
Padding = int | Sequence[int]


def padding_sides(padding: Padding) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a padding given as one int, an (h, w) pair or four sides.

    >>> padding_sides(1), padding_sides((1, 2)), padding_sides((1, 0, 1, 0))
    ((1, 1, 1, 1), (1, 1, 2, 2), (1, 0, 1, 0))
    """
    if isinstance(padding, int) and not isinstance(padding, bool):
        sides = (padding,) * 4
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        sides = (padding[0], padding[0], padding[1], padding[1])
    elif isinstance(padding, (tuple, list)) and len(padding) == 4:
        sides = tuple(padding)
    else:
        raise LmlabError(f"padding must be an integer, (height, width) or (top, bottom, left, right), got {padding!r}")
    if not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in sides):
        raise LmlabError(f"padding must be integers >= 0, got {padding!r}")
    return sides  # type: ignore[return-value]


def output_size(
    size: int, kernel: int, padding: int | tuple[int, int] = 0, stride: int = 1, dilation: int = 1, *, exact=True
) -> int:
    """The output length of a convolution along one axis: O = (W - K_eff + P_total)/S + 1, K_eff = D(K - 1) + 1
    and P_total = 2P (or the two sides' sum when ``padding`` is a pair).

    ``exact=True`` (the lecture's formula, and ``lmlab cnn-shapes``) refuses a stride that does not divide the
    span, naming the formula and the numbers; ``exact=False`` floors, as PyTorch does (the last pixels are then
    never read).

    >>> output_size(3, 2), output_size(3, 2, padding=(1, 0)), output_size(4, 2, stride=2), output_size(32, 5)
    (2, 3, 2, 28)
    >>> output_size(5, 2, stride=2, exact=False)
    2
    >>> output_size(5, 2, stride=2)
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: output size (W - K + 2P)/S + 1 = (5 - 2 + 2*0)/2 + 1 = 2.5 is not an integer; \
choose a stride that divides W - K + 2P = 3, or pad
    """
    pad_total = 2 * padding if isinstance(padding, int) else sum(padding)
    k_eff = dilation * (kernel - 1) + 1
    span = size - k_eff + pad_total
    if span < 0:
        raise LmlabError(
            f"a kernel of {k_eff} is larger than the padded input ({size} + {pad_total} = {size + pad_total})"
        )
    if exact and span % stride:
        sym = isinstance(padding, int) or padding[0] == padding[1]
        pad_text = f"2*{padding if isinstance(padding, int) else padding[0]}" if sym else f"{pad_total}"
        k_text = f"{kernel}" if dilation == 1 else f"{k_eff}"
        raise LmlabError(
            f"output size (W - K + 2P)/S + 1 = ({size} - {k_text} + {pad_text})/{stride} + 1 = "
            f"{span / stride + 1:g} is not an integer; choose a stride that divides W - K + 2P = {span}, or pad"
        )
    return span // stride + 1


def pool_output_size(
    size: int, kernel: int, stride: int | None = None, padding: int = 0, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """The output length of a pooling layer along one axis, PyTorch's rule: floor (or ceil) of
    (W + 2P - K_eff)/S, plus one; in ceil mode a last window that would start past the input and its left
    padding is dropped.

    >>> pool_output_size(3, 2, 2), pool_output_size(3, 2, 2, ceil_mode=True), pool_output_size(5, 3, 2, ceil_mode=True)
    (1, 2, 2)
    """
    stride = kernel if stride is None else stride
    if padding > kernel // 2:
        raise LmlabError(
            f"pooling padding must be at most half the window ({kernel} // 2 = {kernel // 2}), got {padding}"
        )
    k_eff = dilation * (kernel - 1) + 1
    span = size + 2 * padding - k_eff
    if span < 0:
        raise LmlabError(f"a pooling window of {k_eff} is larger than the padded input ({size + 2 * padding})")
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_parameters(kernel_h: int, kernel_w: int, in_channels: int, out_channels: int, bias: bool = True) -> int:
    """Weights and biases of a convolution layer: (K_w*K_h*C_in + 1)*C_out (without the 1 when there is no bias).

    >>> conv_parameters(3, 3, 3, 64), conv_parameters(5, 5, 1, 6), conv_parameters(3, 3, 64, 64, bias=False)
    (1792, 156, 36864)
    """
    return (kernel_h * kernel_w * in_channels + (1 if bias else 0)) * out_channels


__all__ = ["Padding", "conv_parameters", "output_size", "padding_sides", "pool_output_size"]
