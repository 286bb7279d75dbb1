"""The file a completed capture rendered: its facts, their stored form and their API shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sessions.render import Rendered
from sessions.timefmt import iso_ms


@dataclass(frozen=True)
class ResultFile:
    """Where a capture's file is stored and what it is."""

    key: str
    """The storage key (private: only links to it are handed out)."""
    filename: str
    content_type: str
    format: str
    size: int
    """Bytes of the file."""
    width: int
    height: int
    pages: int | None = None
    """Pages of a PDF; None for an image."""

    @classmethod
    def of(cls, rendered: Rendered, key: str, filename: str) -> ResultFile:
        """The facts of ``rendered``, stored under ``key``."""
        return cls(
            key=key,
            filename=filename,
            content_type=rendered.content_type,
            format=rendered.format,
            size=len(rendered.data),
            width=rendered.width,
            height=rendered.height,
            pages=rendered.pages,
        )

    def _facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "format": self.format,
            "bytes": self.size,
            "width": self.width,
            "height": self.height,
        }
        if self.pages is not None:
            facts["pages"] = self.pages
        return facts

    def to_json(self) -> str:
        """The stored form (the record's ``result`` field)."""
        stored = {
            "key": self.key,
            "filename": self.filename,
            "contentType": self.content_type,
            **self._facts(),
        }
        return json.dumps(stored, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ResultFile:
        """Read the stored form back."""
        stored = json.loads(text)
        return cls(
            key=stored["key"],
            filename=stored["filename"],
            content_type=stored["contentType"],
            format=stored["format"],
            size=int(stored["bytes"]),
            width=int(stored["width"]),
            height=int(stored["height"]),
            pages=None if stored.get("pages") is None else int(stored["pages"]),
        )

    def public(self, url: str, expires_at: datetime) -> dict[str, Any]:
        """The capture's ``result`` object (SPEC section 3) with a freshly signed link."""
        return {
            "url": url,
            "expiresAt": iso_ms(int(expires_at.timestamp() * 1000)),
            **self._facts(),
        }
