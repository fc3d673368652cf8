"""``lmlab conv`` (a convolution worked by hand, every window printed) and ``lmlab cnn-shapes`` (the shape and
parameter count after each layer of a spec)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "conv",
        help="work a convolution by hand: every window, the sums, activation and pooling",
        description="Prints each step of a 2-D convolution (a cross-correlation, as in every deep-learning library) "
        "the way the lecture writes it.",
    )
    p.add_argument("--image", required=True, help='the image, rows separated by ";": "1 2 3; 4 5 6; 7 8 9"')
    p.add_argument("--kernel", required=True, help='the kernel, e.g. "1 2; 3 4"')
    p.add_argument("--padding", default="0", help="zeros on every side (P), or on each side: T,B,L,R (default 0)")
    p.add_argument("--stride", type=int, default=1, help="(default 1)")
    p.add_argument("--activation", metavar="EXPR", help='a formula in x applied to every entry, e.g. "abs(50-x)"')
    p.add_argument("--pool", type=int, metavar="K", help="max pooling K x K, stride K, -inf padding (ceil mode)")
    p.set_defaults(func=run_conv)

    s = sub.add_parser(
        "cnn-shapes",
        help="the output shape and parameter count of each layer of a CNN spec",
        description='e.g. lmlab cnn-shapes "128x128x3 conv3x3x32 pool2 conv3x3x64 pool2 conv3x3x128 pool2 flatten '
        'fc1024 fc512 fc1000". Layers: convKxKxN[pP][sS], poolK[sS], maxpoolK, avgpoolK, bn, relu, tanh, sigmoid, '
        "dropout, gap, flatten, fcN.",
    )
    s.add_argument("spec", help="the input HxWxC, then the layers, separated by spaces")
    s.set_defaults(func=run_shapes)


def run_conv(args: argparse.Namespace) -> int:
    from lmlab.vision.walkthrough import parse_matrix, parse_padding, walk_convolution

    image = parse_matrix(args.image, "--image")
    kernel = parse_matrix(args.kernel, "--kernel")
    walk = walk_convolution(image, kernel, parse_padding(args.padding), args.stride, args.activation, args.pool)
    print(walk.text())
    return 0


def run_shapes(args: argparse.Namespace) -> int:
    from lmlab.vision.shapes import cnn_shapes, format_shapes

    print(format_shapes(cnn_shapes(args.spec)))
    return 0
