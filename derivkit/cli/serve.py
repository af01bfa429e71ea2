"""``derivkit serve``: the web pages and the JSON API on this machine.

    derivkit serve                         http://127.0.0.1:8000
    derivkit serve --port 8080 --workers 4
    derivkit serve --host 0.0.0.0          open to the local network (a class)

Needs the ``web`` extra: ``pip install "derivkit[web]"``.
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import real, whole

ORDER = 90

EXAMPLES = """examples:
  derivkit serve                              the pages and the API on http://127.0.0.1:8000
  derivkit serve --port 8080                  another port
  derivkit serve --host 0.0.0.0               reachable from other machines (a classroom)
  derivkit serve --time-limit 5 --memory-limit 512M   stricter limits per request

every request runs in a worker process; one past its time or memory limit is
stopped and answered with HTTP 422 naming the limit.
"""


def _size(text: str) -> int:
    from derivkit.errors import InputError
    from derivkit.web.limits import parse_size

    try:
        return parse_size(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="the web pages and the JSON API on this machine",
        description="Serve derivkit's web pages (derive, check, chain, descent, backprop, exercises) and its "
        "JSON API under /api/ (described at /api/openapi.json). Binds to 127.0.0.1 unless --host says otherwise.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=whole(0, 65535), default=8000, help="the port (default: 8000; 0 picks a free one)")
    parser.add_argument("--workers", type=whole(1), metavar="N",
                        help="worker processes computing requests (default: the number of cores, 2 to 8)")
    parser.add_argument("--time-limit", type=real(0, above=True), metavar="SECONDS",
                        help="wall-clock seconds one request may compute (default: 10)")
    parser.add_argument("--memory-limit", type=_size, metavar="SIZE",
                        help="address space of one worker, e.g. 512M or 2G (default: 1G)")
    parser.add_argument("--body-limit", type=_size, metavar="SIZE", help="largest request body (default: 64K)")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                        help="how much the server logs (default: info)")
    parser.set_defaults(run=run)


def _listen(host: str, port: int):
    """A socket bound to ``host:port`` (port 0: a free one), or a clear error."""
    import socket

    from derivkit.errors import InputError

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as err:
        sock.close()
        raise InputError(f"cannot listen on {host} port {port}: {getattr(err, 'strerror', None) or err}") from None
    return sock


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        from derivkit.errors import MissingDependencyError

        raise MissingDependencyError("uvicorn", "web", "derivkit serve") from None
    from derivkit.web import ServerLimits, create_app

    limits = ServerLimits().with_(workers=args.workers, time=args.time_limit, memory=args.memory_limit,
                                  body=args.body_limit)
    sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    where = f"[{args.host}]" if ":" in args.host else args.host
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"derivkit serve: listening on {args.host}: anyone who can reach this machine can use the pages")
    print(f"derivkit serve: http://{where}:{port}/  (Ctrl-C stops it)", flush=True)
    # Connections beyond what the pool can queue are answered 503 by uvicorn itself.
    config = uvicorn.Config(create_app(limits), log_level=args.log_level, server_header=False,
                            timeout_graceful_shutdown=5, limit_concurrency=4 * (limits.queue + limits.workers))
    uvicorn.Server(config).run(sockets=[sock])
    return 0
