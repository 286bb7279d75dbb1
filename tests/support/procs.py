"""Real processes for tests: free ports, a private redis-server, waiting for readiness."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import redis

from tests.support.waiting import wait_until


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A private ``redis-server`` on a free port; can be stopped and started again."""

    def __init__(self, data_dir: Path, port: int | None = None, *, aof: bool = False) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.aof = aof
        """Keep an append-only file in ``data_dir`` (a restart on the same dir keeps data)."""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (run make install)"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [
                binary, "--port", str(self.port), "--bind", "127.0.0.1", *self.extra_args(),
                "--save", "", "--appendonly", "yes" if self.aof else "no",
                "--dir", str(self.data_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait_ready()

    def extra_args(self) -> list[str]:
        """More ``redis-server`` options (none here)."""
        return []

    def wait_ready(self) -> None:
        """Wait until the server answers PING."""
        client = redis.Redis.from_url(self.url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            wait_until(answers, 15, "redis-server")
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the server, like a crash (no shutdown save)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


def sessionshot_bin() -> str:
    """The ``sessionshot`` console script of the interpreter running the tests."""
    return str(Path(sys.executable).parent / "sessionshot")


class ServiceProcess:
    """A real ``sessionshot`` process with its output captured to files."""

    def __init__(
        self, args: list[str], env: dict[str, str], cwd: Path, *, new_session: bool = False
    ) -> None:
        """``new_session``: lead a process group of its own, as a shell's foreground job
        does, so that :meth:`signal_group` reaches it like a terminal's Ctrl-C."""
        self.cwd = cwd
        self.stdout_path = cwd / f"stdout-{id(self)}.log"
        self.stderr_path = cwd / f"stderr-{id(self)}.log"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sessionshot_bin(), *args],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=err,
                start_new_session=new_session,
            )

    @property
    def stdout(self) -> str:
        """Everything written to stdout so far."""
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        """Everything written to stderr so far."""
        return self.stderr_path.read_text()

    def wait_http(self, url: str, timeout_s: float = 30.0) -> None:
        """Wait until ``url`` answers 200 (or the process dies)."""

        def up() -> bool:
            assert self.proc.poll() is None, f"process exited: {self.stderr[-2000:]}"
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_until(up, timeout_s, what=url)

    def terminate(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def signal_group(self, sig: signal.Signals, timeout_s: float = 90.0) -> int:
        """Send ``sig`` to the process's whole group (as Ctrl-C or ``kill -TERM -PGID``
        does) and wait; the exit status. Needs ``new_session``."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        return self.proc.wait(timeout_s)

    def kill(self) -> None:
        """SIGKILL, for crash tests and cleanup."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def base_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any SESSIONSHOT_ variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSHOT_")}
    env.update(extra)
    return env


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.update(children)
        frontier.extend(children)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
