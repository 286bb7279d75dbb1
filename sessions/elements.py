"""Element information returned by actions (SPEC section 4, "Element info")."""

from __future__ import annotations

from typing import Any

MAX_ELEMENT_TEXT = 1000
MAX_ATTRIBUTES = 50

# One round trip: everything an agent needs to know about the element.
ELEMENT_INFO_JS = f"""
(el) => {{
  const r = el.getBoundingClientRect();
  const style = window.getComputedStyle(el);
  const visible = r.width > 0 && r.height > 0 && style.visibility !== 'hidden'
    && style.display !== 'none' && Number(style.opacity) !== 0;
  const attributes = {{}};
  for (const a of Array.from(el.attributes).slice(0, {MAX_ATTRIBUTES})) {{
    attributes[a.name] = a.value.slice(0, 1000);
  }}
  const text = (el.innerText ?? el.textContent ?? '').trim().slice(0, {MAX_ELEMENT_TEXT});
  return {{
    matched: true, visible, elementText: text, tagName: el.tagName.toLowerCase(), attributes,
    boundingBox: {{x: r.x, y: r.y, width: r.width, height: r.height}},
  }};
}}
"""

NOT_MATCHED: dict[str, Any] = {
    "matched": False,
    "visible": False,
    "elementText": None,
    "tagName": None,
    "attributes": {},
    "boundingBox": None,
}


def center(info: dict[str, Any]) -> dict[str, float]:
    """The middle of an element's bounding box, where a click or hover lands."""
    box = info.get("boundingBox") or {"x": 0, "y": 0, "width": 0, "height": 0}
    return {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
