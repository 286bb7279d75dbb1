"""The dashboard blueprint with every page registered on it."""

from __future__ import annotations

from app.dashboard import account, manage, pages
from app.dashboard.web import blueprint

__all__ = ["account", "blueprint", "manage", "pages"]
