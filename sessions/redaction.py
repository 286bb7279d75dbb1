"""Redaction that leaks nothing: text is scrubbed from the DOM, then covered or blurred.

Covering alone is not enough: a PDF keeps hidden text in its text layer and a blur of a few
pixels stays readable. So every text node and form value inside a matched element is
replaced before rendering; ``block`` then hides the element under an opaque box of its size,
``blur`` blurs it far beyond the stroke width. ``restore`` puts a live page back as it was.
"""

from __future__ import annotations

from playwright.async_api import Page

from sessions.action_models import Redaction

BLUR_RADIUS_PX = 24

_APPLY_JS = f"""
({{selectors, mode}}) => {{
  const undo = [];
  const seen = new Set();
  for (const selector of selectors) {{
    for (const el of document.querySelectorAll(selector)) {{
      if (seen.has(el)) continue;
      seen.add(el);
      const r = el.getBoundingClientRect();
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) {{
        const node = walker.currentNode;
        const old = node.nodeValue;
        node.nodeValue = old.replace(/\\S/g, '\\u2588');
        undo.push(() => {{ node.nodeValue = old; }});
      }}
      const fields = el.matches('input,textarea') ? [el] : el.querySelectorAll('input,textarea');
      for (const field of fields) {{
        const old = field.value;
        field.value = '';
        undo.push(() => {{ field.value = old; }});
      }}
      const oldStyle = el.getAttribute('style');
      undo.push(() => {{
        if (oldStyle === null) el.removeAttribute('style'); else el.setAttribute('style', oldStyle);
      }});
      if (mode === 'blur') {{
        el.style.setProperty('filter', 'blur({BLUR_RADIUS_PX}px)', 'important');
        continue;
      }}
      el.style.setProperty('visibility', 'hidden', 'important');
      const box = document.createElement('div');
      box.setAttribute('data-sessionshot-redaction', '');
      box.style.cssText = 'position:absolute;background:#000;z-index:2147483647;'
        + 'pointer-events:none;margin:0;padding:0;border:0;'
        + `left:${{r.left + window.scrollX}}px;top:${{r.top + window.scrollY}}px;`
        + `width:${{r.width}}px;height:${{r.height}}px;`;
      document.documentElement.appendChild(box);
      undo.push(() => box.remove());
    }}
  }}
  window.__sessionshotRedactionUndo = undo;
  return seen.size;
}}
"""

_RESTORE_JS = """
() => {
  const undo = window.__sessionshotRedactionUndo || [];
  for (const step of undo.reverse()) step();
  delete window.__sessionshotRedactionUndo;
}
"""


async def apply(page: Page, redaction: Redaction | None) -> int:
    """Redact every element matching the selectors now; the number redacted."""
    if redaction is None or not redaction.selectors:
        return 0
    count: int = await page.evaluate(
        _APPLY_JS, {"selectors": redaction.selectors, "mode": redaction.mode}
    )
    return count


async def restore(page: Page, redaction: Redaction | None) -> None:
    """Undo :func:`apply` on a live page."""
    if redaction is not None and redaction.selectors:
        await page.evaluate(_RESTORE_JS)
