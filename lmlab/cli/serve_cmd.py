"""``lmlab serve``: the local web playground over the runs under a folder (``pip install lmlab[serve]``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lmlab.cli.common import int_flag
from lmlab.errors import LmlabError


def register(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="a local web page over your runs: predictions, attention, generation, live trainings",
        description="Serves one page (and its JSON API) that lists every run under --root and opens a view per task. "
        "It binds 127.0.0.1 and prints a URL with a token; requests without the token are refused.",
    )
    p.add_argument("--root", default="runs", help="the folder whose runs the page shows (default: runs/)")
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", action=int_flag(0, 65535), default=8000, help="0 picks a free port (default: 8000)")
    p.add_argument("--token", default=None, help="the access token (default: a random one, printed in the URL)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import secrets
    import socket

    try:
        import uvicorn

        from lmlab.serve.app import create_app
    except ImportError as e:
        raise LmlabError(
            f"lmlab serve needs the serve extra ({e.name} is missing): pip install 'lmlab[serve]'"
        ) from None
    root = Path(args.root)
    if not root.is_dir():
        raise LmlabError(
            f"--root {root}: no such folder (train a run into it first, e.g. lmlab train ... --out {root}/NAME)"
        )
    if args.token is not None and (len(args.token) < 8 or not args.token.isprintable() or " " in args.token):
        raise LmlabError("--token must be at least 8 printable characters without spaces")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"lmlab serve: warning: binding {args.host} lets other machines reach this server (the token still guards "
            "it); use the default 127.0.0.1 unless you mean it",
            file=sys.stderr,
        )
    token = args.token or secrets.token_urlsafe(24)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as e:
        sock.close()
        raise LmlabError(f"cannot listen on {args.host}:{args.port} ({e.strerror}); choose another --port") from None
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    app = create_app(root, token=token, host=args.host)
    print(f"lmlab serve: {root.resolve()} at http://{shown}:{port}/?token={token}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
