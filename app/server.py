"""Run the API on Hypercorn with a graceful stop on SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config

from app.factory import create_app
from app.settings import Settings

log = logging.getLogger("sessionshot.server")

GRACEFUL_TIMEOUT_S = 10.0


def hypercorn_config(host: str, port: int) -> Config:
    """Hypercorn settings: our own access log line, its errors through JSON logging."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = GRACEFUL_TIMEOUT_S
    config.keep_alive_timeout = 75
    return config


def stop_on_signals(stop: asyncio.Event, deadline_s: float | None = None) -> None:
    """Set ``stop`` on SIGTERM or SIGINT.

    With ``deadline_s``, a stop that has not finished by then ends the process anyway
    (status 0, logged): a stuck close must never keep a stopped process alive.
    """
    loop = asyncio.get_running_loop()

    def requested(name: str) -> None:
        if stop.is_set():
            return
        log.info("stop requested", extra={"event": "stop_requested", "signal": name})
        stop.set()
        if deadline_s is not None:
            loop.call_later(deadline_s, _give_up, deadline_s)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, requested, sig.name)


def _give_up(deadline_s: float) -> None:
    log.error("stop did not finish in time; exiting", extra={"deadlineS": deadline_s})
    logging.shutdown()
    os._exit(0)


async def serve_api(settings: Settings, host: str, port: int, stop: asyncio.Event) -> int:
    """Serve until ``stop`` is set, then drain; the exit status (1 when a background loop
    kept failing and stopped the instance)."""
    failed = asyncio.Event()

    def fatal() -> None:
        failed.set()
        stop.set()

    app = create_app(settings, on_fatal=fatal)
    log.info("serving", extra={"event": "serving", "host": host, "port": port})
    await serve(app, hypercorn_config(host, port), shutdown_trigger=stop.wait)
    log.info("stopped", extra={"event": "stopped"})
    return 1 if failed.is_set() else 0
