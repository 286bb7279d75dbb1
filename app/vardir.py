"""The state directory of ``sessionshot up`` (``./var``), and how other commands find it.

``up`` keeps everything of its deployment there: the generated secrets, the embedded Redis
(its unix socket and AOF data) and the locally stored files. ``sessionshot admin`` and
``sessionshot usage`` run in the same directory reach that deployment with no environment:
each of ``SESSIONSHOT_SECRET_KEY`` and ``SESSIONSHOT_REDIS_URL`` that is not set comes from
it. Explicit environment always wins.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings, SettingsError, load_settings

VAR_DIR_ENV = "SESSIONSHOT_VAR_DIR"
"""Where ``up`` keeps its state when ``--var`` is not given; ``./var`` when unset."""
SECRET_ENV = "SESSIONSHOT_SECRET_KEY"
REDIS_URL_ENV = "SESSIONSHOT_REDIS_URL"


@dataclass(frozen=True)
class VarDir:
    """The layout of one ``up`` deployment's state directory."""

    root: Path

    @property
    def secrets_path(self) -> Path:
        """Generated secrets (mode 0600); its presence marks a deployment."""
        return self.root / "secrets.json"

    @property
    def redis_dir(self) -> Path:
        """The embedded Redis: AOF data, log and socket."""
        return self.root / "redis"

    @property
    def redis_socket(self) -> Path:
        """The embedded Redis's unix socket (absolute: children may run elsewhere)."""
        return (self.redis_dir / "redis.sock").resolve()

    @property
    def storage_dir(self) -> Path:
        """Locally stored files."""
        return (self.root / "storage").resolve()

    def exists(self) -> bool:
        """True when ``up`` has run here (its secrets are kept)."""
        return self.secrets_path.is_file()

    def load_or_create_secrets(self) -> dict[str, str]:
        """The deployment's secrets, generated on first start and kept (mode 0600)."""
        if self.exists():
            return self.read_secrets()
        self.root.mkdir(parents=True, exist_ok=True)
        data = {"secretKey": secrets.token_urlsafe(32), "adminToken": secrets.token_urlsafe(32)}
        fd = os.open(self.secrets_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        return data

    def read_secrets(self) -> dict[str, str]:
        """The kept secrets; a :class:`SettingsError` when the file cannot be used."""
        try:
            data = json.loads(self.secrets_path.read_text())
        except (OSError, ValueError) as err:
            raise SettingsError(f"{self.secrets_path}: unreadable ({type(err).__name__})") from err
        if not isinstance(data, dict) or not isinstance(data.get("secretKey"), str):
            raise SettingsError(f"{self.secrets_path}: no secretKey in it")
        return data

    def redis_answers(self) -> bool:
        """True when something accepts connections on the embedded Redis's socket."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(str(self.redis_socket))
        except OSError:
            return False
        return True

    def embedded_redis_url(self) -> str:
        """The URL of the running embedded Redis; a :class:`SettingsError` saying that
        ``sessionshot up`` is not running when nothing answers on its socket."""
        if not self.redis_answers():
            raise SettingsError(
                f"sessionshot up is not running in {self.root} (nothing answers on "
                f"{self.redis_socket}): start it there, or set {REDIS_URL_ENV} to the Redis "
                "it uses"
            )
        return f"unix://{self.redis_socket}"


def var_dir(option: str | None) -> VarDir:
    """The state directory: ``--var``, else ``SESSIONSHOT_VAR_DIR``, else ``./var``."""
    return VarDir(Path(option or os.environ.get(VAR_DIR_ENV) or "var"))


def client_settings(option: str | None) -> Settings:
    """Settings of a command that works on a deployment's Redis (``admin``, ``usage``).

    Each of the secret and the Redis URL comes from the environment when set, else from
    the ``up`` deployment in the state directory. Without either, the command stops and
    says what to set rather than try a Redis that may belong to something else.
    """
    has_secret = SECRET_ENV in os.environ
    has_url = REDIS_URL_ENV in os.environ
    if has_secret and has_url:
        return load_settings()
    found = var_dir(option)
    if found.exists():
        overrides: dict[str, object] = {}
        if not has_secret:
            overrides["secret_key"] = found.read_secrets()["secretKey"]
        if not has_url:
            overrides["redis_url"] = found.embedded_redis_url()
        return load_settings(**overrides)
    if option is not None or VAR_DIR_ENV in os.environ:
        raise SettingsError(
            f"{found.root}: no sessionshot up deployment there ({found.secrets_path} not found)"
        )
    if has_secret or has_url:
        return load_settings()  # a deployment configured by environment, as ``serve`` reads it
    raise SettingsError(
        f"no deployment found: set {SECRET_ENV} and {REDIS_URL_ENV} (as for sessionshot "
        f"serve), or run this where sessionshot up runs (it keeps ./var), or pass --var DIR"
    )
