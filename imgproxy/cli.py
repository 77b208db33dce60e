"""The `imgproxy` command: serve, worker, url, warm."""

from __future__ import annotations

import argparse
import asyncio
import logging.config
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

from imgproxy.config import Settings
from imgproxy.config_loader import CONFIG_ENV, load_settings
from imgproxy.errors import ConfigError
from imgproxy.logs import logging_config
from imgproxy.signing import signed_url


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config, overrides={"server": _server_flags(args)})
    except ConfigError as exc:
        print(f"imgproxy: bad configuration: {exc}", file=sys.stderr)
        return 2
    return int(args.command(args, settings) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgproxy", description="On-the-fly image CDN proxy.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP server")
    _add_config(serve)
    serve.add_argument("--host", help="address to listen on (default: [server] host)")
    serve.add_argument("--port", type=int, help="port to listen on (default: [server] port)")
    serve.add_argument("--workers", type=int, help="processes (default: [server] workers)")
    serve.set_defaults(command=_serve)

    worker = commands.add_parser("worker", help="run preprocess jobs from the shared queue")
    _add_config(worker)
    worker.set_defaults(command=_worker)

    url = commands.add_parser("url", help="print the URL of an image with parameters")
    _add_config(url)
    url.add_argument("path", help="path of the original, e.g. photos/cat.jpg")
    url.add_argument("params", nargs="*", metavar="KEY=VALUE", help="image parameters")
    url.add_argument("--base", help="server address (default: http://[server] host:port)")
    url.add_argument(
        "--sign", action="store_true", help="add s= with the first [security] signing_keys key"
    )
    url.set_defaults(command=_url)

    warm = commands.add_parser("warm", help="pre-render a list of image URLs into the cache")
    _add_config(warm)
    warm.add_argument("urls_file", help="URLs or path?query lines, one a line ('-': stdin)")
    warm.add_argument("--base", help="server address (default: http://[server] host:port)")
    warm.add_argument(
        "--concurrency", type=_concurrency, default=4, help="requests at once (default: 4)"
    )
    warm.add_argument(
        "--accept", help="Accept header, which format=auto answers by (default: a browser's)"
    )
    warm.set_defaults(command=_warm)
    return parser


def _concurrency(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 256, got {text!r}")
    return value


def _server_flags(args: argparse.Namespace) -> dict[str, object]:
    """--host, --port and --workers as given; they are checked like the config's own values."""
    flags = {key: getattr(args, key, None) for key in ("host", "port", "workers")}
    return {key: value for key, value in flags.items() if value is not None}


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help=f"TOML config file (default: ${CONFIG_ENV} or built-in)")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from imgproxy.web.protocol import HTTP_OPTIONS

    if args.config:
        # Worker processes build their settings from the environment, so they must see the file.
        os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
    if settings.admin.enabled:
        _start_admin(settings)
    with _environment(_metrics_environment(settings)):
        uvicorn.run(
            "imgproxy.app:app_from_env",
            factory=True,
            host=settings.server.host,
            port=settings.server.port,
            workers=settings.server.workers,
            log_config=logging_config(settings.log),
            log_level=settings.log.level,
            # Each request has one line of imgproxy's own, with more in it than uvicorn's.
            access_log=False,
            # On SIGTERM, requests in flight finish (up to their own deadline) before the exit.
            timeout_graceful_shutdown=int(settings.server.request_timeout_s) + 1,
            **HTTP_OPTIONS,
        )
    return 0


def _metrics_environment(settings: Settings) -> dict[str, str]:
    """With several workers, the folder where each keeps its metric values for the scrapes."""
    if settings.server.workers == 1:
        return {}
    from imgproxy.metrics import MULTIPROCESS_ENV, multiprocess_dir

    return {MULTIPROCESS_ENV: str(multiprocess_dir(settings.cache.dir))}


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ, which the worker processes inherit, until the server stops."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from imgproxy.app import build_preprocessor, build_sources
    from imgproxy.cache.results import build_results
    from imgproxy.jobs.queue import Jobs, build_huey

    logging.config.dictConfig(logging_config(settings.log))
    results = build_results(settings)
    sources = build_sources(settings, results.shared)
    with _loop_in_thread() as loop:
        preprocessor = build_preprocessor(settings, sources, results, loop)
        jobs = Jobs(build_huey(settings), preprocessor, settings.jobs.report_retention_days)
        jobs.run(settings.jobs.workers)
    return 0


@contextmanager
def _loop_in_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop in a thread of its own, for the origin I/O of jobs outside a server."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="jobs-io", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _start_admin(settings: Settings) -> None:
    """The admin API in a thread of this process: one per server, whatever the worker count."""
    import uvicorn

    from imgproxy.web.admin import create_admin_app

    config = uvicorn.Config(
        create_admin_app(settings),
        host=settings.admin.host,
        port=settings.admin.port,
        # The main server's uvicorn.run sets up logging for both.
        log_config=None,
        log_level="warning",
    )
    threading.Thread(target=uvicorn.Server(config).run, name="admin", daemon=True).start()


def _url(args: argparse.Namespace, settings: Settings) -> int:
    pairs = []
    for item in args.params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"imgproxy: {item!r} is not KEY=VALUE", file=sys.stderr)
            return 2
        pairs.append((key, value))
    base = args.base or f"http://{settings.server.host}:{settings.server.port}"
    if args.sign:
        if not settings.security.signing_keys:
            print("imgproxy: --sign needs [security] signing_keys", file=sys.stderr)
            return 2
        print(signed_url(base, args.path, pairs, settings.security.signing_keys[0]))
        return 0
    query = f"?{urlencode(pairs)}" if pairs else ""
    print(f"{base.rstrip('/')}/{quote(args.path.lstrip('/'))}{query}")
    return 0


def _warm(args: argparse.Namespace, settings: Settings) -> int:
    from imgproxy import warm

    try:
        lines = warm.read_lines(args.urls_file)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"imgproxy: cannot read {args.urls_file}: {exc}", file=sys.stderr)
        return 2
    return warm.run(
        lines,
        args.base or warm.server_base(settings.server.host, settings.server.port),
        concurrency=args.concurrency,
        accept=args.accept or warm.BROWSER_ACCEPT,
        # The server answers 504 at its own deadline; the margin is for sending the bytes.
        timeout_s=settings.server.request_timeout_s + 5,
        out=sys.stdout,
        err=sys.stderr,
    )
