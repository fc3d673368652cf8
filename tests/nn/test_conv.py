"""Convolution and pooling from the definition against PyTorch's kernels (float64, outputs and gradients), the
arithmetic (output sizes, parameter counts) and the lecture's worked examples.

The lecture's worked examples, checked by hand and here (image [[1, 2, 3], [4, 5, 6], [7, 8, 9]], kernel
[[1, 2], [3, 4]]):

* no padding, stride 1: [[37, 47], [67, 77]], as printed (37 = 1*1 + 2*2 + 4*3 + 5*4).
* stride 2: [[7, 11], [23, 27]], as printed. The issue gives only the map; it is what the 4x4 image 1..16
  with the kernel [[1, 0], [0, 1]] gives at stride 2 (7 = 1 + 6, 11 = 3 + 8, 23 = 9 + 14, 27 = 11 + 16), and
  the anti-diagonal kernel [[0, 1], [1, 0]] gives the same map; the test checks both.
* padding: the lecture prints a 3x3 map, [[4, 10, 16], [22, 37, 47], [40, 67, 77]]. A 3x3 map from a 3x3 image
  and a 2x2 kernel at stride 1 needs 4 input rows and columns, so the zeros were added on the top and the left
  only (padding on all four sides would give 4x4). Four entries are arithmetic slips: the window at (0, 1) is
  [[0, 0], [1, 2]], which gives 1*3 + 2*4 = 11, not 10; (0, 2) is 2*3 + 3*4 = 18, not 16; (1, 0) is
  1*2 + 4*4 = 18, not 22; (2, 0) is 4*2 + 7*4 = 36, not 40. The correct map is
  [[4, 11, 18], [18, 37, 47], [36, 67, 77]].
* the activation |50 - x| and the 2x2 max pooling that follow in the lecture were computed from the printed
  map: |50 - x| of it is [[46, 40, 34], [28, 13, 3], [10, 17, 27]], and pooling that with windows of 2, stride 2,
  ceil mode (the last row and column padded with -inf) gives [[46, 34], [17, 27]]. From the correct map the two
  steps give [[46, 39, 32], [32, 13, 3], [14, 17, 27]] and [[46, 32], [17, 27]].
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from lmlab.errors import LmlabError
from lmlab.nn.conv import (
    Conv2d,
    avg_pool2d,
    conv2d,
    conv2d_sliding,
    conv2d_unfold,
    conv_parameters,
    max_pool2d,
    output_size,
    pool_output_size,
    unfold2d,
)

IMAGE = torch.tensor([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=torch.float64).view(1, 1, 3, 3)
KERNEL = torch.tensor([[1.0, 2], [3, 4]], dtype=torch.float64).view(1, 1, 2, 2)
IMPLS = [conv2d_sliding, conv2d_unfold, lambda *a, **k: conv2d(*a, **k, impl="fast")]


# ---- the lecture's worked examples
@pytest.mark.parametrize("conv", IMPLS)
def test_lecture_unpadded_example(conv):
    assert conv(IMAGE, KERNEL).view(2, 2).tolist() == [[37, 47], [67, 77]]


@pytest.mark.parametrize("conv", IMPLS)
@pytest.mark.parametrize("kernel", [[[1.0, 0], [0, 1]], [[0.0, 1], [1, 0]]])
def test_lecture_stride_2_example(conv, kernel):
    image = torch.arange(1.0, 17, dtype=torch.float64).view(1, 1, 4, 4)
    k = torch.tensor(kernel, dtype=torch.float64).view(1, 1, 2, 2)
    assert conv(image, k, stride=2).view(2, 2).tolist() == [[7, 11], [23, 27]]


@pytest.mark.parametrize("conv", IMPLS)
def test_lecture_padded_example_has_the_corrected_values(conv):
    top_left = (1, 0, 1, 0)  # (top, bottom, left, right): the only padding that gives the lecture's 3x3 map
    y = conv(IMAGE, KERNEL, padding=top_left).view(3, 3)
    assert y.tolist() == [[4, 11, 18], [18, 37, 47], [36, 67, 77]]
    printed = torch.tensor([[4.0, 10, 16], [22, 37, 47], [40, 67, 77]], dtype=torch.float64)
    assert (y != printed).sum() == 4  # the lecture's four slips
    assert conv(IMAGE, KERNEL, padding=1).shape[-2:] == (4, 4)  # all four sides would give 4x4, not 3x3


def test_lecture_activation_and_pooling():
    correct = torch.tensor([[4.0, 11, 18], [18, 37, 47], [36, 67, 77]]).view(1, 1, 3, 3)
    printed = torch.tensor([[4.0, 10, 16], [22, 37, 47], [40, 67, 77]]).view(1, 1, 3, 3)
    act_printed = (50 - printed).abs()
    assert act_printed.view(3, 3).tolist() == [[46, 40, 34], [28, 13, 3], [10, 17, 27]]
    # the lecture's pooling follows its printed map
    assert max_pool2d(act_printed, 2, ceil_mode=True).view(2, 2).tolist() == [[46, 34], [17, 27]]
    act = (50 - correct).abs()
    assert act.view(3, 3).tolist() == [[46, 39, 32], [32, 13, 3], [14, 17, 27]]
    pooled = max_pool2d(act, 2, ceil_mode=True)
    assert pooled.view(2, 2).tolist() == [[46, 32], [17, 27]]
    assert torch.equal(pooled, F.max_pool2d(act, 2, ceil_mode=True))
    assert max_pool2d(act, 2).shape[-2:] == (1, 1)  # without ceil mode the last row and column are dropped


# ---- from the definition = PyTorch, float64, outputs and gradients
CASES = [
    # (B, C_in, C_out, H, W, K, stride, padding, dilation, bias)
    (2, 3, 4, 7, 6, (3, 3), 1, 0, 1, True),
    (1, 2, 3, 8, 9, (3, 2), 2, 1, 1, False),
    (2, 1, 2, 9, 9, (2, 3), (2, 1), (1, 2), 1, True),
    (1, 3, 2, 10, 8, (3, 3), 1, 2, 2, True),
    (3, 2, 5, 5, 5, (5, 5), 1, 0, 1, True),
    (1, 2, 2, 7, 11, (1, 1), 3, 0, 1, True),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("impl", ["sliding", "unfold"])
def test_conv2d_equals_torch_outputs_and_gradients(case, impl):
    B, C_in, C_out, H, W, K, stride, padding, dilation, has_bias = case
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, C_in, H, W, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(C_out, C_in, *K, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(C_out, dtype=torch.float64, generator=g, requires_grad=True) if has_bias else None
    ours = conv2d(x, w, b, stride, padding, dilation, impl=impl)
    ref = F.conv2d(x, w, b, stride, padding, dilation)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    up = torch.randn_like(ref)
    inputs = [x, w] + ([b] if has_bias else [])
    grads = torch.autograd.grad((ours * up).sum(), inputs)
    ref_grads = torch.autograd.grad((ref * up).sum(), inputs)
    for a, r in zip(grads, ref_grads):
        torch.testing.assert_close(a, r, rtol=1e-12, atol=1e-12)


def test_unfold_equals_torch_unfold():
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64)
    for kernel, stride, padding, dilation in [(3, 1, 0, 1), ((2, 3), (2, 1), (1, 0), 1), (3, 2, 1, 2)]:
        ours, _ = unfold2d(x, kernel, stride, padding, dilation)
        torch.testing.assert_close(ours, F.unfold(x, kernel, dilation, padding, stride), rtol=0, atol=0)


def test_conv2d_module_paths_share_parameters_with_nn_conv2d():
    torch.manual_seed(0)
    fast = Conv2d(3, 4, 3, padding=1, stride=2, dtype=torch.float64)
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    ref = torch.nn.Conv2d(3, 4, 3, padding=1, stride=2, dtype=torch.float64)
    ref.load_state_dict(fast.state_dict())
    for impl in ("fast", "unfold", "sliding"):
        fast.impl = impl
        torch.testing.assert_close(fast(x), ref(x), rtol=1e-12, atol=1e-12)


POOL_CASES = list(
    itertools.product(
        [(2, None, 0), (3, 2, 1), (2, 1, 0), (3, 3, 1), ((3, 2), (2, 1), (1, 0))],  # kernel, stride, padding
        [False, True],  # ceil mode
        [(5, 5), (7, 6), (4, 9)],  # H, W
    )
)


@pytest.mark.parametrize("spec,ceil,size", POOL_CASES)
def test_max_pool_equals_torch(spec, ceil, size):
    kernel, stride, padding = spec
    x = torch.randn(2, 3, *size, dtype=torch.float64, requires_grad=True)
    ours = max_pool2d(x, kernel, stride, padding, ceil_mode=ceil)
    ref = F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    up = torch.randn_like(ref)
    (g,) = torch.autograd.grad((ours * up).sum(), x)
    (r,) = torch.autograd.grad((ref * up).sum(), x)
    torch.testing.assert_close(g, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec,ceil,size", POOL_CASES)
@pytest.mark.parametrize("include_pad", [True, False])
def test_avg_pool_equals_torch(spec, ceil, size, include_pad):
    kernel, stride, padding = spec
    x = torch.randn(2, 3, *size, dtype=torch.float64, requires_grad=True)
    ours = avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil, count_include_pad=include_pad)
    ref = F.avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil, count_include_pad=include_pad)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    up = torch.randn_like(ref)
    (g,) = torch.autograd.grad((ours * up).sum(), x)
    (r,) = torch.autograd.grad((ref * up).sum(), x)
    torch.testing.assert_close(g, r, rtol=1e-12, atol=1e-12)


def test_dilated_max_pool_equals_torch():
    x = torch.randn(1, 2, 9, 10, dtype=torch.float64)
    for ceil in (False, True):
        torch.testing.assert_close(
            max_pool2d(x, 3, 2, 1, dilation=2, ceil_mode=ceil), F.max_pool2d(x, 3, 2, 1, dilation=2, ceil_mode=ceil)
        )


# ---- arithmetic
@pytest.mark.parametrize("size,kernel,padding,stride,dilation", list(itertools.product(
    [5, 8, 13, 28], [1, 2, 3, 5], [0, 1, 2], [1, 2, 3], [1, 2])))  # fmt: skip
def test_output_size_matches_torch(size, kernel, padding, stride, dilation):
    if dilation * (kernel - 1) + 1 > size + 2 * padding:
        with pytest.raises(LmlabError, match="larger than the padded input"):
            output_size(size, kernel, padding, stride, dilation, exact=False)
        return
    y = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel), None, stride, padding, dilation)
    assert output_size(size, kernel, padding, stride, dilation, exact=False) == y.size(-1)
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span % stride == 0:
        assert output_size(size, kernel, padding, stride, dilation) == y.size(-1)
    else:
        with pytest.raises(LmlabError, match=r"is not an integer; choose a stride that divides"):
            output_size(size, kernel, padding, stride, dilation)


@pytest.mark.parametrize("size,kernel,stride,padding,ceil", list(itertools.product(
    [3, 4, 5, 7, 10], [2, 3], [1, 2, 3], [0, 1], [False, True])))  # fmt: skip
def test_pool_output_size_matches_torch(size, kernel, stride, padding, ceil):
    y = F.max_pool2d(torch.zeros(1, 1, size, size), kernel, stride, padding, ceil_mode=ceil)
    assert pool_output_size(size, kernel, stride, padding, ceil_mode=ceil) == y.size(-1)


def test_parameter_count_formula_matches_nn_conv2d():
    assert conv_parameters(3, 3, 3, 64) == 1792  # the lecture's (3*3*3 + 1)*64
    for kh, kw, c_in, c_out, bias in [(3, 3, 3, 64, True), (5, 5, 6, 16, True), (1, 7, 4, 2, False)]:
        layer = torch.nn.Conv2d(c_in, c_out, (kh, kw), bias=bias)
        assert conv_parameters(kh, kw, c_in, c_out, bias) == sum(p.numel() for p in layer.parameters())


def test_bad_shapes_are_one_line_errors():
    with pytest.raises(LmlabError, match="the input has 2 channels, the kernel expects 1"):
        conv2d_sliding(torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 2, 2))
    with pytest.raises(LmlabError, match="larger than the padded input"):
        conv2d_unfold(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 4, 4))
    with pytest.raises(LmlabError, match="at most half the window"):
        max_pool2d(torch.zeros(1, 1, 5, 5), 2, padding=2)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
def test_a_1x1_convolution_is_a_linear_map_of_each_pixel(stride, bias):
    """lmlab's fast Conv2d computes 1x1 kernels as a channel matmul (avoiding a oneDNN kernel that hung): the same
    values and gradients as torch.nn.Conv2d."""
    from lmlab.nn.conv import Conv2d

    torch.manual_seed(0)
    ours = Conv2d(3, 5, 1, stride=stride, bias=bias).double()
    ref = torch.nn.Conv2d(3, 5, 1, stride=stride, bias=bias).double()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    y, y2 = ours(x), ref(x2)
    torch.testing.assert_close(y, y2)
    g = torch.randn_like(y)
    y.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
