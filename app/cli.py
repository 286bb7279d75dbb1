"""The ``sessionshot`` command line: run the service, manage workspaces, report usage."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app import eventloop
from app.capture_cmd import add_capture_parser
from app.logs import configure_logging
from app.redisconn import check_redis_mode, open_redis
from app.settings import Settings, SettingsError, load_settings
from app.tenancy import Tenancy, TenancyError, make_tenancy
from app.vardir import client_settings, var_dir
from sessions.domains import InvalidDomain, new_entry

DEFAULT_PORT = 8080
DESCRIPTION = """\
SessionShot: live browser sessions over HTTP, and one-shot captures on top.
Start everything on this machine with 'sessionshot up'; every command prints JSON."""
DEPLOYMENT_HELP = """\
Finding the deployment: SESSIONSHOT_SECRET_KEY and SESSIONSHOT_REDIS_URL are used when
set; whichever is not set is taken from the 'sessionshot up' deployment in ./var (or
--var DIR, or SESSIONSHOT_VAR_DIR), which must be running. When neither is there, the
command stops and names what to set: it never guesses which Redis to use."""
VAR_HELP = (
    "state directory of the 'sessionshot up' deployment to use "
    "(default: $SESSIONSHOT_VAR_DIR, else ./var)"
)
SERVE_DESCRIPTION = """\
Run one API instance. It needs SESSIONSHOT_SECRET_KEY and a Redis (SESSIONSHOT_REDIS_URL,
default redis://127.0.0.1:6379/0); several instances can share one Redis. SIGTERM or
Ctrl-C drains it: open sessions close as 'shutdown' and are billed."""
USAGE_DESCRIPTION = """\
Billing report over [--from, --to): credits per workspace; with --workspace, that
workspace's days and keys; with --csv, one row per closed session."""
UP_DESCRIPTION = """\
Run everything on this machine: an embedded Redis, an API instance and a capture worker.
State is kept in ./var (or --var DIR, or SESSIONSHOT_VAR_DIR) and survives restarts:
generated secrets, the Redis data (workspaces, keys, allowed domains, sessions, the credit
ledger) and stored files. The first start creates a default workspace and prints its API
key once. Ctrl-C or SIGTERM stops the API and the worker first (their sessions close as
'shutdown', billed), Redis last. To start over: stop it, then remove the directory.
'sessionshot admin' and 'sessionshot usage' run in the same directory use this deployment."""


def _with_public_url(settings: Settings, host: str, port: int) -> Settings:
    """Settings whose public and internal URLs default to the address ``serve`` listens on."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    here = f"http://{shown}:{port}"
    update = {name: here for name in ("public_url", "internal_url") if not getattr(settings, name)}
    return settings.model_copy(update=update) if update else settings


def _cmd_serve(args: argparse.Namespace) -> int:
    from app.server import serve_api, stop_on_signals

    settings = _with_public_url(load_settings(), args.host, args.port)
    settings.require_secret()
    configure_logging(settings.log_level)

    async def run() -> int:
        await check_redis_mode(settings)  # a wrong client kind stops here, named
        stop = asyncio.Event()
        stop_on_signals(stop, deadline_s=settings.stop_deadline_s)
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


async def _usage(args: argparse.Namespace, settings: Settings) -> None:
    from sessions.keys import SessionKeys
    from sessions.usage import Range, UsageReports

    await check_redis_mode(settings)
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

    settings = client_settings(args.var)
    try:
        asyncio.run(_usage(args, settings))
    except BadRange as err:
        _print({"error": {"code": "VALIDATION_ERROR", "message": str(err)}})
        return 1
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from app.allinone import run_all_in_one

    return run_all_in_one(var_dir(args.var), args.host, args.port, args.allow_domain)


def _allowed_domain(value: str) -> str:
    # Checked while parsing, so ``up`` refuses a bad entry before it creates anything.
    try:
        return new_entry(value)
    except InvalidDomain as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _print(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


async def _admin(args: argparse.Namespace, settings: Settings) -> Any:
    await check_redis_mode(settings)
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


async def _dashboard_link(tenancy: Tenancy, args: argparse.Namespace) -> dict[str, Any]:
    from app.dashboard.links import issue_link

    await tenancy.get_workspace(args.workspace)  # an unknown workspace gets no link
    settings = client_settings(args.var)
    base = args.url or settings.public_url or f"http://127.0.0.1:{DEFAULT_PORT}"
    redis = open_redis(settings)
    try:
        return await issue_link(redis, settings.redis_prefix, args.workspace, base)
    finally:
        await redis.aclose()


_ADMIN[("dashboard-link", "")] = _dashboard_link


def _dashboard_link_parser(groups: Any, common: argparse.ArgumentParser) -> None:
    text = (
        "print a one-time link that signs its first user in to the workspace's dashboard "
        "(valid 10 minutes)"
    )
    link = groups.add_parser(
        "dashboard-link", help=text, description=text[0].upper() + text[1:] + ".", parents=[common]
    )
    link.add_argument("--workspace", required=True, metavar="WS", help="the workspace (ws_...)")
    link.add_argument(
        "--url",
        metavar="BASE",
        help="the service's address as browsers reach it (default: SESSIONSHOT_PUBLIC_URL, "
        f"else http://127.0.0.1:{DEFAULT_PORT})",
    )
    link.set_defaults(action="")


def _cmd_admin(args: argparse.Namespace) -> int:
    try:
        _print(asyncio.run(_admin(args, client_settings(args.var))))
    except (TenancyError, InvalidDomain) as err:
        _print({"error": {"code": type(err).__name__, "message": str(err)}})
        return 1
    return 0


def _admin_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    admin = sub.add_parser(
        "admin",
        help="manage workspaces, API keys and allowed domains",
        description="Manage workspaces, API keys and allowed domains, directly in Redis.",
        epilog=DEPLOYMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    admin.set_defaults(func=_cmd_admin)
    groups = admin.add_subparsers(dest="group", required=True, metavar="GROUP")

    def leaf(parent: Any, name: str, text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(
            name, help=text, description=text[0].upper() + text[1:] + ".", parents=[common]
        )
        return parser

    def workspace_option(parser: argparse.ArgumentParser, text: str) -> None:
        parser.add_argument("--workspace", required=True, metavar="WS", help=text)

    ws = groups.add_parser(
        "workspace", help="create and list workspaces", description="Create and list workspaces."
    )
    ws_actions = ws.add_subparsers(dest="action", required=True, metavar="ACTION")
    create_ws = leaf(ws_actions, "create", "create a workspace and print it")
    create_ws.add_argument("name", metavar="NAME", help="a name to recognise it by")
    leaf(ws_actions, "list", "list every workspace")

    key = groups.add_parser(
        "key",
        help="create, revoke and list API keys",
        description="Create, revoke and list API keys.",
    )
    key_actions = key.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = leaf(key_actions, "create", "create an API key; the key itself is printed this once")
    workspace_option(create, "the workspace the key belongs to (ws_...)")
    create.add_argument("--name", metavar="N", help="a label for the key, shown in key lists")
    revoke = leaf(key_actions, "revoke", "revoke an API key at once")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id (key_...), not the key")
    listed = leaf(key_actions, "list", "list a workspace's keys (ids and labels, never the keys)")
    workspace_option(listed, "the workspace (ws_...)")

    domain = groups.add_parser(
        "domain",
        help="allow, disallow and list target domains",
        description="Allow, disallow and list the domains a workspace's sessions may open.",
    )
    domain_actions = domain.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("add", "allow a workspace's sessions and captures to open DOMAIN"),
        ("remove", "stop allowing DOMAIN (the entry stays listed as inactive)"),
    ):
        parser = leaf(domain_actions, action, text)
        workspace_option(parser, "the workspace (ws_...)")
        parser.add_argument(
            "domain",
            metavar="DOMAIN",
            help="a host (example.com) or its subdomains ('*.example.com', quoted)",
        )
    listed = leaf(domain_actions, "list", "list a workspace's domains, active and removed")
    workspace_option(listed, "the workspace (ws_...)")
    _dashboard_link_parser(groups, common)


def _service_parsers(sub: Any) -> None:
    for name, func, default_host, text, description in (
        ("serve", _cmd_serve, "0.0.0.0", "run one API instance", SERVE_DESCRIPTION),
        (
            "up",
            _cmd_up,
            "127.0.0.1",
            "run everything on this machine, state in ./var",
            UP_DESCRIPTION,
        ),
    ):
        cmd = sub.add_parser(
            name,
            help=text,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        cmd.add_argument(
            "--host", default=default_host, help=f"address to listen on (default: {default_host})"
        )
        cmd.add_argument(
            "--port",
            type=int,
            default=DEFAULT_PORT,
            help=f"port to listen on (default: {DEFAULT_PORT})",
        )
        cmd.set_defaults(func=func)
    up = sub.choices["up"]
    up.add_argument(
        "--allow-domain",
        action="append",
        default=[],
        metavar="HOST",
        type=_allowed_domain,
        help="allow HOST ('*.example.com' for its subdomains) in the default workspace; "
        "repeatable; entries are kept across restarts",
    )
    up.add_argument(
        "--var",
        metavar="DIR",
        help="keep this deployment's state in DIR (default: $SESSIONSHOT_VAR_DIR, else ./var)",
    )

    worker = sub.add_parser(
        "worker",
        help="run one capture worker",
        description="Run one capture worker: it takes capture jobs from Redis and runs them.",
    )
    worker.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="captures run at once (default: SESSIONSHOT_WORKER_CONCURRENCY, else 4)",
    )
    worker.set_defaults(func=_cmd_worker)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="sessionshot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _service_parsers(sub)
    var_option = argparse.ArgumentParser(add_help=False)
    var_option.add_argument("--var", metavar="DIR", help=VAR_HELP)

    usage = sub.add_parser(
        "usage",
        help="billing report: credits per workspace, as JSON or CSV",
        description=USAGE_DESCRIPTION,
        epilog=DEPLOYMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[var_option],
    )
    usage.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="D",
        help="start, inclusive: an ISO date (midnight UTC) or datetime",
    )
    usage.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="D",
        help="end, exclusive: an ISO date or datetime; at most 366 days after --from",
    )
    usage.add_argument(
        "--workspace", metavar="WS", help="only this workspace, with daily and per-key figures"
    )
    usage.add_argument(
        "--csv", action="store_true", help="one CSV row per closed session instead of JSON"
    )
    usage.set_defaults(func=_cmd_usage)

    _admin_parsers(sub, var_option)
    add_capture_parser(sub)
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
