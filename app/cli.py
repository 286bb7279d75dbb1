"""The ``sessionshot`` command line (SPEC section 8)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app import eventloop
from app.factory import make_tenancy, open_redis
from app.logs import configure_logging
from app.settings import Settings, SettingsError, load_settings
from app.tenancy import Tenancy, TenancyError
from sessions.domains import InvalidDomain, new_entry

DEFAULT_PORT = 8080
SERVE_STOP_DEADLINE_S = 60.0
"""Drain requests, close and bill sessions: a stop that takes longer is cut short."""


def _with_public_url(settings: Settings, host: str, port: int) -> Settings:
    if settings.public_url:
        return settings
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return settings.model_copy(update={"public_url": f"http://{shown}:{port}"})


def _cmd_serve(args: argparse.Namespace) -> int:
    from app.server import serve_api, stop_on_signals

    settings = _with_public_url(load_settings(), args.host, args.port)
    settings.require_secret()
    configure_logging(settings.log_level)

    async def run() -> int:
        stop = asyncio.Event()
        stop_on_signals(stop, deadline_s=SERVE_STOP_DEADLINE_S)
        return await serve_api(settings, args.host, args.port, stop)

    return eventloop.run(run())


def _cmd_worker(args: argparse.Namespace) -> int:
    from app.workerproc import main_worker

    settings = load_settings()
    settings.require_secret()
    if not settings.public_url:
        # Workers never mint links; local storage just needs a base to be configured.
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{DEFAULT_PORT}"})
    configure_logging(settings.log_level)
    return main_worker(settings, args.concurrency)


async def _usage(args: argparse.Namespace) -> None:
    from sessions.keys import SessionKeys
    from sessions.usage import Range, UsageReports

    settings = load_settings()
    redis = open_redis(settings)
    try:
        span = Range.parse(args.start, args.end)
        reader = UsageReports(redis, SessionKeys(settings.redis_prefix))
        if args.workspace:
            ws_ids = [args.workspace]
        else:
            ws_ids = [ws["id"] for ws in await make_tenancy(settings, redis).list_workspaces()]
        if args.csv:
            async for row in reader.csv_rows(ws_ids, span):
                sys.stdout.write(row)
        elif args.workspace:
            _print(await reader.workspace(args.workspace, span))
        else:
            totals = [{"workspaceId": ws, "totals": await reader.totals(ws, span)} for ws in ws_ids]
            _print({**span.public(), "workspaces": totals})
    finally:
        await redis.aclose()


def _cmd_usage(args: argparse.Namespace) -> int:
    from sessions.usage import BadRange

    try:
        asyncio.run(_usage(args))
    except BadRange as err:
        _print({"error": {"code": "VALIDATION_ERROR", "message": str(err)}})
        return 1
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from app.allinone import run_all_in_one

    return run_all_in_one(args.host, args.port, args.allow_domain)


def _allowed_domain(value: str) -> str:
    # Checked while parsing, so ``up`` refuses a bad entry before it creates anything.
    try:
        return new_entry(value)
    except InvalidDomain as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _print(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


async def _admin(args: argparse.Namespace) -> Any:
    settings = load_settings()
    redis = open_redis(settings)
    try:
        tenancy = make_tenancy(settings, redis)
        handler: Callable[[Tenancy, argparse.Namespace], Awaitable[Any]] = args.admin_handler
        return await handler(tenancy, args)
    finally:
        await redis.aclose()


_ADMIN: dict[tuple[str, str], Callable[[Tenancy, argparse.Namespace], Awaitable[Any]]] = {
    ("workspace", "create"): lambda t, a: t.create_workspace(a.name),
    ("workspace", "list"): lambda t, a: _wrap("workspaces", t.list_workspaces()),
    ("key", "create"): lambda t, a: t.create_key(a.workspace, a.name),
    ("key", "revoke"): lambda t, a: t.revoke_key(a.key_id),
    ("key", "list"): lambda t, a: _wrap("keys", t.list_keys(a.workspace)),
    ("domain", "add"): lambda t, a: t.add_domain(a.workspace, a.domain),
    ("domain", "remove"): lambda t, a: t.remove_domain(a.workspace, a.domain),
    ("domain", "list"): lambda t, a: _wrap("domains", t.list_domains(a.workspace)),
}


async def _wrap(name: str, rows: Awaitable[list[dict[str, Any]]]) -> dict[str, Any]:
    return {name: await rows}


def _cmd_admin(args: argparse.Namespace) -> int:
    try:
        _print(asyncio.run(_admin(args)))
    except (TenancyError, InvalidDomain) as err:
        _print({"error": {"code": type(err).__name__, "message": str(err)}})
        return 1
    return 0


def _admin_parsers(sub: Any) -> None:
    admin = sub.add_parser("admin", help="manage workspaces, keys and domains")
    admin.set_defaults(func=_cmd_admin)
    groups = admin.add_subparsers(dest="group", required=True)

    ws = groups.add_parser("workspace").add_subparsers(dest="action", required=True)
    ws.add_parser("create").add_argument("name")
    ws.add_parser("list")

    key = groups.add_parser("key").add_subparsers(dest="action", required=True)
    create = key.add_parser("create")
    create.add_argument("--workspace", required=True)
    create.add_argument("--name")
    key.add_parser("revoke").add_argument("key_id")
    key.add_parser("list").add_argument("--workspace", required=True)

    domain = groups.add_parser("domain").add_subparsers(dest="action", required=True)
    for action in ("add", "remove"):
        parser = domain.add_parser(action)
        parser.add_argument("--workspace", required=True)
        parser.add_argument("domain")
    domain.add_parser("list").add_argument("--workspace", required=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="sessionshot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    for name, func, default_host in (
        ("serve", _cmd_serve, "0.0.0.0"),
        ("up", _cmd_up, "127.0.0.1"),
    ):
        cmd = sub.add_parser(name)
        cmd.add_argument("--host", default=default_host)
        cmd.add_argument("--port", type=int, default=DEFAULT_PORT)
        cmd.set_defaults(func=func)
        if name == "up":
            cmd.add_argument(
                "--allow-domain", action="append", default=[], metavar="HOST", type=_allowed_domain
            )

    worker = sub.add_parser("worker", help="run a capture worker")
    worker.add_argument("--concurrency", type=int, default=None, metavar="N")
    worker.set_defaults(func=_cmd_worker)

    usage = sub.add_parser("usage", help="billing report (JSON, or CSV with --csv)")
    usage.add_argument("--from", dest="start", required=True, metavar="D")
    usage.add_argument("--to", dest="end", required=True, metavar="D")
    usage.add_argument("--workspace", metavar="WS")
    usage.add_argument("--csv", action="store_true")
    usage.set_defaults(func=_cmd_usage)

    _admin_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sessionshot`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "admin":
        args.admin_handler = _ADMIN[(args.group, args.action)]
    try:
        code: int = args.func(args)
    except SettingsError as err:
        sys.stderr.write(json.dumps({"level": "error", "message": str(err)}) + "\n")
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        # Logs are JSON lines only; the type is enough to act on, the rest stays private.
        line = {"level": "error", "message": "failed", "errorType": type(err).__name__}
        sys.stderr.write(json.dumps(line) + "\n")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
