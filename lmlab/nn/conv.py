"""Two-dimensional convolution and pooling written from their definitions, beside PyTorch's fast kernels.

A convolution layer (a cross-correlation, as in every deep-learning library: the kernel is not flipped) maps an
input x (B, C_in, H, W) to y (B, C_out, H_out, W_out)::

    y[b, o, i, j] = bias[o] + sum_{c, u, v} weight[o, c, u, v] * x_pad[b, c, i*S_h + u*D_h, j*S_w + v*D_w]

where x_pad is x with P zeros on each side, S the stride and D the dilation. Three ways to compute it, equal in
float64 (outputs and gradients; ``tests/nn/test_conv.py``):

* :func:`conv2d_sliding`: the sum itself, one output position at a time (the lecture's picture of a window
  sliding over the image);
* :func:`conv2d_unfold`: every window copied into a column (:func:`unfold2d`, "im2col"), then one matrix
  product (C_out, C_in*K_h*K_w) @ (C_in*K_h*K_w, H_out*W_out): how fast libraries did it for years;
* :func:`conv2d` with ``impl="fast"``: ``torch.nn.functional.conv2d``.

The arithmetic, as small pure functions: :func:`output_size` (O = (W - K + 2P)/S + 1), :func:`pool_output_size`
(the same with ceil mode), :func:`conv_parameters` ((K_w*K_h*C_in + 1)*C_out).

Pooling (:func:`max_pool2d`, :func:`avg_pool2d`) follows PyTorch's conventions exactly, ceil mode included: the
max is taken over windows padded with -inf (so padding never wins), and a window that would start beyond the
padded input is dropped.

References: LeCun et al. 1998 (convolution and subsampling layers); Dumoulin & Visin 2016, "A guide to
convolution arithmetic for deep learning"; Chellapilla, Puri & Simard 2006 (convolution as unfold + matrix
product).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.shapes import Padding, conv_parameters, output_size, padding_sides, pool_output_size

IMPLEMENTATIONS = ("fast", "unfold", "sliding")

Pair = int | tuple[int, int]


def _pair(v: Pair, name: str) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool):
        return v, v
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(a, int) for a in v):
        return int(v[0]), int(v[1])
    raise LmlabError(f"{name} must be an integer or a pair of integers, got {v!r}")


def _check_conv(x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    if x.dim() != 4 or weight.dim() != 4:
        raise LmlabError(f"conv2d needs x (B, C, H, W) and weight (C_out, C_in, K_h, K_w), got {tuple(x.shape)} and "
                         f"{tuple(weight.shape)}")  # fmt: skip
    if x.size(1) != weight.size(1):
        raise LmlabError(f"the input has {x.size(1)} channels, the kernel expects {weight.size(1)}")
    if bias is not None and bias.shape != (weight.size(0),):
        raise LmlabError(f"bias must have shape ({weight.size(0)},), got {tuple(bias.shape)}")


def _geometry(x: Tensor, weight: Tensor, stride: Pair, padding: Padding, dilation: Pair):
    (sh, sw), (dh, dw) = _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(sh, sw, dh, dw) < 1:
        raise LmlabError(f"stride and dilation must be >= 1, got {stride!r} and {dilation!r}")
    top, bottom, left, right = padding_sides(padding)
    kh, kw = weight.shape[-2:]
    oh = output_size(x.size(2), kh, (top, bottom), sh, dh, exact=False)
    ow = output_size(x.size(3), kw, (left, right), sw, dw, exact=False)
    xp = F.pad(x, (left, right, top, bottom))  # zeros
    return xp, (sh, sw), (dh, dw), (kh, kw), (oh, ow)


def conv2d_sliding(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Pair = 1, padding: Padding = 0, dilation: Pair = 1
) -> Tensor:
    """The convolution as its defining sum, one output position (i, j) at a time: the window of the padded input
    under the kernel, multiplied elementwise by every output channel's kernel and summed.

    >>> x = torch.tensor([[[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]])
    >>> conv2d_sliding(x, torch.tensor([[[[1.0, 2], [3, 4]]]])).tolist()
    [[[[37.0, 47.0], [67.0, 77.0]]]]
    """
    _check_conv(x, weight, bias)
    xp, (sh, sw), (dh, dw), (kh, kw), (oh, ow) = _geometry(x, weight, stride, padding, dilation)
    rows = []
    for i in range(oh):
        row = []
        for j in range(ow):
            window = xp[:, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
            # (B, 1, C_in, K_h, K_w) * (1, C_out, C_in, K_h, K_w), summed over the window -> (B, C_out)
            row.append((window.unsqueeze(1) * weight.unsqueeze(0)).sum(dim=(2, 3, 4)))
        rows.append(torch.stack(row, dim=-1))  # (B, C_out, W_out)
    y = torch.stack(rows, dim=-2)  # (B, C_out, H_out, W_out)
    return y if bias is None else y + bias.view(1, -1, 1, 1)


def unfold2d(
    x: Tensor, kernel: Pair, stride: Pair = 1, padding: Padding = 0, dilation: Pair = 1
) -> tuple[Tensor, tuple[int, int]]:
    """Every window of the padded input as a column ("im2col"): (B, C*K_h*K_w, H_out*W_out), in the layout of
    ``torch.nn.functional.unfold`` (channel, then kernel row, then kernel column), and (H_out, W_out).

    >>> cols, size = unfold2d(torch.arange(1.0, 10).view(1, 1, 3, 3), 2)
    >>> cols[0].T.tolist(), size
    ([[1.0, 2.0, 4.0, 5.0], [2.0, 3.0, 5.0, 6.0], [4.0, 5.0, 7.0, 8.0], [5.0, 6.0, 8.0, 9.0]], (2, 2))
    """
    kh, kw = _pair(kernel, "kernel")
    xp, (sh, sw), (dh, dw), _, (oh, ow) = _geometry(x, x.new_empty(1, x.size(1), kh, kw), stride, padding, dilation)
    rows = (torch.arange(oh) * sh).view(oh, 1) + (torch.arange(kh) * dh).view(1, kh)  # (H_out, K_h) input rows
    cols = (torch.arange(ow) * sw).view(ow, 1) + (torch.arange(kw) * dw).view(1, kw)  # (W_out, K_w) input columns
    patches = xp[:, :, rows.view(oh, kh, 1, 1), cols.view(1, 1, ow, kw)]  # (B, C, H_out, K_h, W_out, K_w)
    B, C = x.shape[:2]
    patches = patches.permute(0, 1, 3, 5, 2, 4)  # (B, C, K_h, K_w, H_out, W_out)
    return patches.reshape(B, C * kh * kw, oh * ow), (oh, ow)


def conv2d_unfold(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Pair = 1, padding: Padding = 0, dilation: Pair = 1
) -> Tensor:
    """The convolution as one matrix product: (C_out, C_in*K_h*K_w) @ unfold2d(x) -> (B, C_out, H_out*W_out).

    >>> x = torch.tensor([[[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]])
    >>> conv2d_unfold(x, torch.tensor([[[[1.0, 2], [3, 4]]]]), padding=(1, 0, 1, 0)).tolist()
    [[[[4.0, 11.0, 18.0], [18.0, 37.0, 47.0], [36.0, 67.0, 77.0]]]]
    """
    _check_conv(x, weight, bias)
    cols, (oh, ow) = unfold2d(x, tuple(weight.shape[-2:]), stride, padding, dilation)
    y = weight.reshape(weight.size(0), -1) @ cols  # (C_out, CKK) @ (B, CKK, L) -> (B, C_out, L)
    if bias is not None:
        y = y + bias.view(1, -1, 1)
    return y.view(x.size(0), weight.size(0), oh, ow)


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Pair = 1,
    padding: Padding = 0,
    dilation: Pair = 1,
    impl: str = "fast",
) -> Tensor:
    """The convolution by ``impl``: "fast" (``F.conv2d``; a four-sided padding is applied by ``F.pad`` first),
    "unfold" (:func:`conv2d_unfold`) or "sliding" (:func:`conv2d_sliding`)."""
    if impl == "sliding":
        return conv2d_sliding(x, weight, bias, stride, padding, dilation)
    if impl == "unfold":
        return conv2d_unfold(x, weight, bias, stride, padding, dilation)
    if impl != "fast":
        raise LmlabError(f"convolution implementation must be one of {', '.join(IMPLEMENTATIONS)}, got {impl!r}")
    _check_conv(x, weight, bias)
    top, bottom, left, right = padding_sides(padding)
    if top == bottom and left == right:
        return F.conv2d(x, weight, bias, stride, (top, left), dilation)
    return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, stride, 0, dilation)


def pointwise_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple[int, int]) -> Tensor:
    """A 1x1 convolution as what it is, a linear map of each pixel's channels: ``y[b, o, i, j] = sum_c W[o, c]
    x[b, c, s i, s j] + b[o]``.

    Equal to ``F.conv2d`` (``tests/nn/test_conv.py``). lmlab computes it this way on the CPU because oneDNN's 1x1
    backward-weights kernel (``jit_avx2_1x1_convolution_bwd_weights``, PyTorch 2.13 CPU) was seen to hang or crash
    (SIGSEGV/SIGBUS) training a batch-normalised ResNet on this project's 2-core AMD EPYC machines.

    >>> x, w = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 1, 1)
    >>> torch.allclose(pointwise_conv2d(x, w, None, (2, 2)), F.conv2d(x, w, stride=2), atol=1e-6)
    True
    """
    x = x[:, :, :: stride[0], :: stride[1]]  # (B, C, H', W')
    y = torch.einsum("bchw,oc->bohw", x, weight[:, :, 0, 0])  # (B, O, H', W')
    return y if bias is None else y + bias[None, :, None, None]


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` (the same parameters, the same initialisation) whose forward pass can be computed from the
    definition: ``impl`` "fast", "unfold" or "sliding" (slow: for teaching and for checking)."""

    def __init__(self, *args, impl: str = "fast", **kwargs):
        super().__init__(*args, **kwargs)
        if impl not in IMPLEMENTATIONS:
            raise LmlabError(f"convolution implementation must be one of {', '.join(IMPLEMENTATIONS)}, got {impl!r}")
        if impl != "fast" and (self.groups != 1 or self.padding_mode != "zeros" or isinstance(self.padding, str)):
            raise LmlabError("the from-definition convolutions cover groups=1 and numeric zero padding only")
        self.impl = impl

    def forward(self, x: Tensor) -> Tensor:
        if self.impl == "fast" and self._pointwise():
            return pointwise_conv2d(x, self.weight, self.bias, self.stride)
        if self.impl == "fast":
            return super().forward(x)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.impl)

    def _pointwise(self) -> bool:
        """A 1x1 convolution without padding or groups (ResNet's projection shortcut)."""
        return (
            self.kernel_size == (1, 1) and self.groups == 1 and self.padding_mode == "zeros"
            and not isinstance(self.padding, str) and tuple(self.padding) == (0, 0)
        )  # fmt: skip


def _pool_geometry(x: Tensor, kernel: Pair, stride: Pair | None, padding: Pair, dilation: Pair, ceil_mode: bool):
    if x.dim() != 4:
        raise LmlabError(f"pooling needs x (B, C, H, W), got {tuple(x.shape)}")
    kh, kw = _pair(kernel, "kernel")
    sh, sw = _pair(stride if stride is not None else kernel, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    oh = pool_output_size(x.size(2), kh, sh, ph, dh, ceil_mode)
    ow = pool_output_size(x.size(3), kw, sw, pw, dw, ceil_mode)
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow)


def max_pool2d(
    x: Tensor,
    kernel: Pair,
    stride: Pair | None = None,
    padding: Pair = 0,
    dilation: Pair = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """The largest value in each window (stride defaults to the window), the input padded with -inf: a window
    hanging over the edge (padding, or ceil mode's last window) takes the maximum of the pixels it covers.

    >>> x = torch.tensor([[[[46.0, 40, 34], [28, 13, 3], [10, 17, 27]]]])
    >>> max_pool2d(x, 2, ceil_mode=True).tolist(), max_pool2d(x, 2).tolist()
    ([[[[46.0, 34.0], [17.0, 27.0]]]], [[[[46.0]]]])
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = _pool_geometry(x, kernel, stride, padding, dilation, ceil_mode)
    # enough -inf on the bottom and right for ceil mode's last window
    extra_h = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (x.size(2) + 2 * ph))
    extra_w = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (x.size(3) + 2 * pw))
    xp = F.pad(x, (pw, pw + extra_w, ph, ph + extra_h), value=-math.inf)
    rows = []
    for i in range(oh):
        row = []
        for j in range(ow):
            window = xp[:, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
            row.append(window.flatten(2).max(dim=-1).values)  # (B, C); max(dim) sends the gradient to one pixel
        rows.append(torch.stack(row, dim=-1))
    return torch.stack(rows, dim=-2)


def avg_pool2d(
    x: Tensor,
    kernel: Pair,
    stride: Pair | None = None,
    padding: Pair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """The mean of each window, PyTorch's convention: the divisor counts the zero padding a window covers
    (``count_include_pad``) but never what ceil mode's last window hangs beyond the padding; without
    ``count_include_pad`` it counts the real pixels only.

    >>> x = torch.tensor([[[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]])
    >>> avg_pool2d(x, 2, ceil_mode=True).tolist()
    [[[[3.0, 4.5], [7.5, 9.0]]]]
    """
    (kh, kw), (sh, sw), (ph, pw), _, (oh, ow) = _pool_geometry(x, kernel, stride, padding, 1, ceil_mode)
    H, W = x.shape[-2:]
    rows = []
    for i in range(oh):
        row = []
        for j in range(ow):
            h0, w0 = i * sh - ph, j * sw - pw  # the window's first row and column, in input coordinates
            h1, w1 = min(h0 + kh, H + ph), min(w0 + kw, W + pw)  # clipped to the padded input
            area = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)  # the real pixels
            total = x[:, :, h0:h1, w0:w1].sum(dim=(2, 3))
            row.append(total / (area if count_include_pad else (h1 - h0) * (w1 - w0)))
        rows.append(torch.stack(row, dim=-1))
    return torch.stack(rows, dim=-2)


__all__ = [
    "IMPLEMENTATIONS",
    "Conv2d",
    "avg_pool2d",
    "conv2d",
    "conv2d_sliding",
    "conv2d_unfold",
    "conv_parameters",
    "max_pool2d",
    "output_size",
    "padding_sides",
    "pool_output_size",
    "unfold2d",
]
