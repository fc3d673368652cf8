"""``lmlab approx`` (fit networks of growing width, or depth, to a target and draw the fits and the error) and
``lmlab activations`` (the activation functions and their derivatives)."""

from __future__ import annotations

import argparse
import math

from lmlab.cli.common import SeedFlag, check_output_file, int_flag, number_flag

#: Bounds of ``lmlab approx``: each network is trained and drawn, so a list longer than a figure can show is a
#: typo; a range beyond a million loses float64's resolution once scaled to [-1, 1]
MAX_NETWORKS = 16
MAX_RANGE = 1e6


def register(sub) -> None:
    p = sub.add_parser(
        "approx",
        help="universal approximation: fit one-hidden-layer networks of growing width to a target, draw fits and error",
        description="Trains one network per width (or per depth with --depth) on samples of the target and draws "
        "each fit over it, with the mean squared error per width. With --activation poly2 (z^2) the error stops "
        "at that of the best quadratic, whatever the width.",
    )
    p.add_argument("--target", default="sin", help='sin, abs, step, or a formula in x such as "x**3 - x" (default sin)')
    p.add_argument("--range", dest="interval", metavar="LO,HI", help="the interval (default: the target's, or -3,3)")
    p.add_argument("--widths", default="2,8,32,128", help="hidden units of each network (default 2,8,32,128)")
    p.add_argument("--depth", metavar="D1,D2,...", help="sweep depth instead: hidden layers of each network, all of "
                   "the one width --widths gives (default 8)")  # fmt: skip
    from lmlab.fundamentals.names import ACTIVATION_NAMES, MAX_LR  # no PyTorch import to build the parser

    p.add_argument("--activation", default="relu", choices=list(ACTIVATION_NAMES), help="(default relu)")
    p.add_argument(
        "--steps",
        action=int_flag(1, 1_000_000),
        default=2000,
        help="full-batch Adam steps per network, 1 to 1,000,000 (default 2000)",
    )
    p.add_argument(
        "--lr", action=number_flag(0, MAX_LR, above=True), default=0.01, help=f"0 < lr <= {MAX_LR:g} (default 0.01)"
    )
    p.add_argument(
        "--points",
        action=int_flag(2, 100_000),
        default=256,
        help="sample points of the target, 2 to 100,000 (default 256)",
    )
    p.add_argument("--seed", action=SeedFlag, default=0, help="0 to 2**63 - 1 (default 0)")
    p.add_argument("--out", required=True, metavar="FILE.png")
    p.set_defaults(func=run_approx)

    a = sub.add_parser("activations", help="draw the common activation functions and their derivatives")
    a.add_argument("--out", required=True, metavar="FILE.png")
    a.add_argument("--only", metavar="NAMES", help="a comma-separated subset (default: all)")
    a.set_defaults(func=run_activations)


def _ints(text: str, flag: str, hi: int) -> list[int]:
    """Comma-separated integers from 1 to ``hi``, at most :data:`MAX_NETWORKS` of them (one network each)."""
    from lmlab.errors import LmlabError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise LmlabError(f"{flag} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise LmlabError(f"{flag} needs at least one value")
    if len(values) > MAX_NETWORKS:
        raise LmlabError(f"{flag} gives {len(values)} networks; at most {MAX_NETWORKS} are trained and drawn")
    if not all(1 <= v <= hi for v in values):
        raise LmlabError(f"{flag} must be integers from 1 to {hi:,}, got {text!r}")
    return values


def _interval(text: str) -> tuple[float, float]:
    """``--range LO,HI``: finite, LO < HI, within +-:data:`MAX_RANGE`.

    >>> _interval("-2,2")
    (-2.0, 2.0)
    """
    from lmlab.errors import LmlabError

    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        lo = hi = math.nan
    if not (-MAX_RANGE <= lo < hi <= MAX_RANGE):  # False for nan
        raise LmlabError(f"--range must be LO,HI with -{MAX_RANGE:,.0f} <= LO < HI <= {MAX_RANGE:,.0f}, got {text!r}")
    return lo, hi


def run_approx(args: argparse.Namespace) -> int:
    import torch

    from lmlab.errors import LmlabError
    from lmlab.fundamentals.approximation import (
        MAX_DEPTH,
        MAX_WIDTH,
        TARGETS,
        fit_depths,
        fit_widths,
        plot_fits,
        polynomial_floor,
        sample_points,
    )
    from lmlab.fundamentals.expression import parse_expression

    if not args.out.lower().endswith(".png"):
        raise LmlabError(f"--out must end in .png, got {args.out!r}")
    check_output_file(args.out, "--out")
    formula, lo, hi = TARGETS.get(args.target, (args.target, -3.0, 3.0))
    if args.interval:
        lo, hi = _interval(args.interval)
    x = sample_points(lo, hi, args.points)
    f = parse_expression(formula, "--target")
    y = torch.tensor([f(v) for v in x.tolist()], dtype=torch.float64)
    if not torch.isfinite(y).all():
        raise LmlabError(f"--target {args.target!r} is not finite everywhere on [{lo:g}, {hi:g}]")
    widths = _ints(args.widths, "--widths", MAX_WIDTH)
    kw = {"steps": args.steps, "lr": args.lr, "seed": args.seed}
    if args.depth:
        depths = _ints(args.depth, "--depth", MAX_DEPTH)
        if len(widths) != 1:
            widths = [8] if args.widths == "2,8,32,128" else widths
            if len(widths) != 1:
                raise LmlabError("--depth sweeps depth at one width: give --widths W with one value")
        fits, sweep = fit_depths(x, y, widths[0], depths, args.activation, **kw), "depth"
    else:
        fits, sweep = fit_widths(x, y, widths, args.activation, **kw), "width"
    floor = None
    if args.activation == "poly2":  # the network is a polynomial of degree 2^depth: nothing does better
        degrees = {2**f.depth for f in fits}
        floor = polynomial_floor(x, y, max(degrees)) if len(degrees) == 1 else None
    print(f"target {formula} on [{lo:g}, {hi:g}], {args.points} points, activation {args.activation}")
    print(f"{sweep:>6}  {'parameters':>10}  {'mse':>10}  {'max error':>10}")
    for f in fits:
        n = f.width if sweep == "width" else f.depth
        print(f"{n:>6}  {f.parameters:>10,}  {f.mse:>10.3g}  {f.max_error:>10.3g}")
    if args.activation == "poly2":
        for d in sorted({f.depth for f in fits}):
            print(f"best polynomial of degree {2**d} (depth {d}): mse {polynomial_floor(x, y, 2**d):.3g}")
    title = f"{formula}: {args.activation}, " + (f"depth {fits[0].depth}" if sweep == "width" else f"width {widths[0]}")
    plot_fits(x, y, fits, args.out, title=title, sweep=sweep, floor=floor)
    print(f"wrote {args.out}")
    if any(not math.isfinite(f.mse) for f in fits):
        print("lmlab: warning: some fits diverged (lower --lr)")
    return 0


def run_activations(args: argparse.Namespace) -> int:
    from lmlab.errors import LmlabError
    from lmlab.fundamentals.activations import get_activation, plot_activations

    if not args.out.lower().endswith(".png"):
        raise LmlabError(f"--out must end in .png, got {args.out!r}")
    check_output_file(args.out, "--out")
    names = None
    if args.only:
        names = list(dict.fromkeys(n.strip() for n in args.only.split(",") if n.strip()))  # each one panel
        for name in names:
            get_activation(name, "--only")
    print(f"wrote {plot_activations(args.out, names)}")
    return 0
