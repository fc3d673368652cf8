"""``lmlab conv`` computes on lists of floats, without PyTorch: its feature map, activation and pooling must be
what ``torch.nn.functional`` computes in float64, for every padding, stride and pooling size."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from lmlab.vision.walkthrough import cross_correlation, max_pool_ceil, pad, walk_convolution


def random_matrix(gen: torch.Generator, rows: int, cols: int, integers: bool) -> torch.Tensor:
    if integers:
        return torch.randint(-9, 10, (rows, cols), generator=gen).to(torch.float64)
    return torch.randn(rows, cols, generator=gen, dtype=torch.float64)


CASES = [  # (image H, W), (kernel h, w), (top, bottom, left, right), stride
    ((3, 3), (2, 2), (1, 0, 1, 0), 1),
    ((4, 4), (2, 2), (0, 0, 0, 0), 2),
    ((5, 7), (3, 3), (1, 1, 1, 1), 1),
    ((6, 5), (3, 2), (2, 1, 0, 3), 1),
    ((7, 7), (3, 3), (1, 1, 1, 1), 2),
    ((1, 6), (1, 3), (0, 0, 0, 0), 3),
    ((9, 8), (4, 5), (0, 3, 2, 1), 1),
]


@pytest.mark.parametrize(("integers", "case"), list(itertools.product([True, False], CASES)))
def test_the_feature_map_is_torchs_conv2d(integers, case):
    (H, W), (kh, kw), (top, bottom, left, right), stride = case
    gen = torch.Generator().manual_seed(H * 100 + W * 10 + stride)
    x, k = random_matrix(gen, H, W, integers), random_matrix(gen, kh, kw, integers)
    want = F.conv2d(F.pad(x.view(1, 1, H, W), (left, right, top, bottom)), k.view(1, 1, kh, kw), stride=stride)[0, 0]
    got = walk_convolution(x.tolist(), k.tolist(), (top, bottom, left, right), stride).feature_map
    if integers:  # sums of small integers: exact whatever the order of the additions
        assert got == want.tolist()
    else:  # the walk-through adds left to right, PyTorch in its own order
        torch.testing.assert_close(torch.tensor(got, dtype=torch.float64), want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("rows", "cols", "pool"), [(3, 3, 2), (4, 4, 2), (5, 7, 3), (6, 6, 4), (2, 9, 2), (4, 4, 4)])
def test_the_pooling_is_torchs_ceil_mode_max_pool2d(rows, cols, pool):
    x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(rows * cols + pool), dtype=torch.float64)
    want = F.max_pool2d(x.view(1, 1, rows, cols), pool, ceil_mode=True)[0, 0]
    assert max_pool_ceil(x.tolist(), pool) == want.tolist()


def test_activation_and_pooling_of_the_walk_through_are_torchs():
    gen = torch.Generator().manual_seed(0)
    x, k = random_matrix(gen, 6, 7, True), random_matrix(gen, 2, 3, True)
    w = walk_convolution(x.tolist(), k.tolist(), (1, 1, 0, 2), 1, "sigmoid(x/4) - abs(x)**0.5", 3)
    y = torch.tensor(w.feature_map, dtype=torch.float64)
    act = torch.sigmoid(y / 4) - y.abs() ** 0.5
    torch.testing.assert_close(torch.tensor(w.activated, dtype=torch.float64), act, rtol=1e-15, atol=1e-15)
    want = F.max_pool2d(torch.tensor(w.activated, dtype=torch.float64).view(1, 1, *act.shape), 3, ceil_mode=True)
    assert w.pooled == want[0, 0].tolist()


def test_padding_and_cross_correlation_from_their_definitions():
    assert pad([[1.0]], 1, 2, 0, 1) == [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    # the kernel is not flipped: [[0, 1]] picks the right neighbour
    assert cross_correlation([[1.0, 2.0, 3.0]], [[0.0, 1.0]], 1) == [[2.0, 3.0]]
    assert cross_correlation([[1.0, 2.0, 3.0, 4.0, 5.0]], [[1.0, 1.0]], 2) == [[3.0, 7.0]]
