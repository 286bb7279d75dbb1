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
from app.state import STATE_KEY, AppState

log = logging.getLogger("sessionshot.server")


def hypercorn_config(settings: Settings, host: str, port: int) -> Config:
    """Hypercorn settings: our own access log line, its errors through JSON logging, the
    timeouts from settings."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = settings.graceful_timeout_s
    config.keep_alive_timeout = settings.keep_alive_timeout_s
    return config


def bind_now(config: Config) -> None:
    """Open the listening sockets now and hand them to Hypercorn as descriptors.

    Hypercorn binds only after the app's startup (browser, loops), and a bind failure
    there leaves that startup running with nothing to stop it: a taken port must fail
    first, with nothing started.
    """
    sockets = config.create_sockets()
    config.bind = [f"fd://{sock.detach()}" for sock in sockets.insecure_sockets]


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

    config = hypercorn_config(settings, host, port)
    try:
        bind_now(config)
    except OSError as err:
        log.error(
            "cannot listen",
            extra={"event": "listen_failed", "host": host, "port": port, "reason": err.strerror},
        )
        return 1
    app = create_app(settings, on_fatal=fatal)
    log.info("serving", extra={"event": "serving", "host": host, "port": port})

    async def stopping() -> None:
        await stop.wait()
        # Long polls answer now rather than be cut off at the graceful timeout.
        state: AppState | None = app.extensions.get(STATE_KEY)
        if state is not None:
            state.captures.events.release()

    await serve(app, config, shutdown_trigger=stopping)
    log.info("stopped", extra={"event": "stopped"})
    return 1 if failed.is_set() else 0
