"""``sessionshot capture URL``: one capture through the API, saved to a file.

Built on the Python client (``sessionshot_client``), against ``SESSIONSHOT_URL`` with
``SESSIONSHOT_API_KEY``. While it waits it shows the capture's status and the time spent on
stderr: one line rewritten in place on a terminal, a line per change otherwise. The key is
never written anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from sessionshot_client import SessionShot, SessionShotError
    from sessionshot_client.models import Capture

DESCRIPTION = """\
Capture URL through a SessionShot API (SESSIONSHOT_URL, default http://127.0.0.1:8080) with
the API key in SESSIONSHOT_API_KEY, wait until it is final and save the file. Cookies are
set for the URL's host, localStorage entries for its origin. Steps run in this order:
--wait-for, then each --action; then --redact masks, then the render. Prints one JSON line:
the file's path, its size and the capture id. Exit status 0 when the capture completed,
1 when it failed (its error code is printed) or the API refused it, 2 on bad usage."""
POLL_TTY_S = 1
"""Long-poll length on a terminal: the elapsed time is refreshed about once a second."""
POLL_S = 30


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _action(text: str) -> dict[str, Any]:
    try:
        step = json.loads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from err
    if not isinstance(step, dict) or "type" not in step:
        raise argparse.ArgumentTypeError('expected a JSON object like {"type": "click", ...}')
    return step


def add_capture_parser(sub: Any) -> None:
    """Register ``sessionshot capture`` on the CLI's sub-command parsers."""
    cmd = sub.add_parser(
        "capture",
        help="capture a page through the API and save the file",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("url", metavar="URL", help="the https page to capture")
    cmd.add_argument(
        "-o", "--output", metavar="FILE", help="where to save it (default: CAPTURE_ID.FORMAT)"
    )
    cmd.add_argument(
        "--format", choices=["png", "jpeg", "pdf", "webp"], default="png", help="default png"
    )
    cmd.add_argument("--full-page", action="store_true", help="the whole scroll height")
    cmd.add_argument("--width", type=int, help="viewport width in CSS pixels (default 1280)")
    cmd.add_argument("--height", type=int, help="viewport height in CSS pixels (default 800)")
    cmd.add_argument(
        "--cookie", type=_pair, action="append", default=[], metavar="NAME=VALUE",
        help="a cookie for the URL's host; repeatable",
    )  # fmt: skip
    cmd.add_argument(
        "--local-storage", type=_pair, action="append", default=[], metavar="KEY=VALUE",
        help="a localStorage entry for the URL's origin; repeatable",
    )  # fmt: skip
    cmd.add_argument(
        "--action", type=_action, action="append", default=[], metavar="JSON",
        help='a step such as \'{"type": "click", "selector": "#tab"}\'; repeatable, in order',
    )  # fmt: skip
    cmd.add_argument(
        "--redact", action="append", default=[], metavar="SELECTOR",
        help="mask the elements matching SELECTOR; repeatable",
    )  # fmt: skip
    cmd.add_argument("--wait-for", metavar="SELECTOR", help="wait for SELECTOR before the actions")
    cmd.add_argument(
        "--timeout", type=float, default=300.0, metavar="S",
        help="give up waiting after S seconds (default 300)",
    )  # fmt: skip
    cmd.set_defaults(func=run)


def capture_body(args: argparse.Namespace) -> dict[str, Any]:
    """The ``POST /api/captures`` fields the options ask for."""
    host = urlsplit(args.url).hostname or ""
    output: dict[str, Any] = {"format": args.format}
    if args.full_page:
        output["fullPage"] = True
    if args.width:
        output["width"] = args.width
    if args.height:
        output["height"] = args.height
    body: dict[str, Any] = {"output": output}
    auth: dict[str, Any] = {}
    if args.cookie:
        auth["cookies"] = [{"name": n, "value": v, "domain": host} for n, v in args.cookie]
    if args.local_storage:
        auth["localStorage"] = [{"key": k, "value": v} for k, v in args.local_storage]
    if auth:
        body["auth"] = auth
    steps = [{"type": "waitForSelector", "selector": args.wait_for}] if args.wait_for else []
    steps += args.action
    if steps:
        body["actions"] = steps
    if args.redact:
        body["redaction"] = {"selectors": args.redact}
    return body


class Progress:
    """The status line on stderr: rewritten with ``\\r`` on a terminal, else one per change."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last = ""

    def show(self, capture_id: str, status: str) -> None:
        """Report ``status`` (and the time spent)."""
        elapsed = time.monotonic() - self.started
        line = f"{capture_id} {status} {elapsed:.1f}s"
        if self.tty:
            self.stream.write(f"\r\x1b[K{line}")
        elif status != self.last:
            self.stream.write(line + "\n")
        self.last = status
        self.stream.flush()

    def done(self) -> None:
        """End the rewritten line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _wait(client: SessionShot, capture_id: str, progress: Progress, timeout_s: float) -> Capture:
    poll_s = POLL_TTY_S if progress.tty else POLL_S
    deadline = time.monotonic() + timeout_s
    while True:
        left = max(1, min(poll_s, int(deadline - time.monotonic())))
        capture = client.captures.get(capture_id, wait_s=left)
        progress.show(capture_id, capture.status)
        if capture.is_final or time.monotonic() >= deadline:
            return capture


def _print(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


def _refused(err: SessionShotError) -> int:
    sys.stderr.write(f"capture refused: {err.code}: {err.message}\n")
    _print({"error": {"code": err.code, "message": err.message}})
    return 2 if err.code == "CONFIGURATION" else 1


def run(args: argparse.Namespace) -> int:
    """Create the capture, wait, save the file; the exit status."""
    # Imported here: the other commands (serve, worker) never load the client.
    from sessionshot_client import SessionShot, SessionShotError

    progress = Progress(sys.stderr)
    try:
        with SessionShot() as client:
            job = client.captures.create(args.url, **capture_body(args))
            progress.show(job.id, job.status)
            capture = _wait(client, job.id, progress, args.timeout)
            progress.done()
            if capture.status != "completed":
                code = capture.error.code if capture.error else "WAIT_TIMEOUT"
                message = capture.error.message if capture.error else "not final in time"
                sys.stderr.write(f"capture {capture.id} {capture.status}: {code}: {message}\n")
                error = {"code": code, "message": message}
                _print({"id": capture.id, "status": capture.status, "error": error})
                return 1
            path = Path(args.output or f"{capture.id}.{args.format}")
            size = len(client.captures.download(capture, path))
    except SessionShotError as err:
        progress.done()
        return _refused(err)
    _print({"id": capture.id, "status": "completed", "path": str(path), "bytes": size})
    return 0
