"""Redaction that leaks nothing: text is scrubbed from the DOM, then covered or blurred.

Covering alone is not enough: a PDF keeps hidden text in its text layer and a blur of a few
pixels stays readable. So every text node and form value inside a matched element is
replaced before rendering; ``block`` then hides the element under an opaque box of its size,
``blur`` blurs it far beyond the stroke width. A stylesheet applies the same hiding to
anything matching later, and a mutation observer scrubs elements and text the page adds or
re-creates before the render (observers run before the next frame is painted).
``restore`` puts a live page back as it was.
"""

from __future__ import annotations

from playwright.async_api import Page

from sessions.action_models import Redaction

BLUR_RADIUS_PX = 24

_APPLY_JS = f"""
({{selectors, mode}}) => {{
  const selector = selectors.join(',');
  const undo = [];
  const seen = new Set();
  const mask = (text) => text.replace(/\\S/g, '\\u2588');
  const inside = (node) => {{
    const el = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    return el !== null && el.closest(selector) !== null;
  }};
  const scrubText = (node) => {{
    const old = node.nodeValue;
    const masked = mask(old);
    if (masked === old) return;
    node.nodeValue = masked;
    undo.push(() => {{ node.nodeValue = old; }});
  }};
  const redact = (el) => {{
    if (seen.has(el)) return;
    seen.add(el);
    const r = el.getBoundingClientRect();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) scrubText(walker.currentNode);
    const fields = el.matches('input,textarea') ? [el] : el.querySelectorAll('input,textarea');
    for (const field of fields) {{
      const old = field.value;
      field.value = '';
      undo.push(() => {{ field.value = old; }});
    }}
    for (const attr of ['placeholder', 'alt', 'title', 'value']) {{
      for (const node of [el, ...el.querySelectorAll(`[${{attr}}]`)]) {{
        if (!node.hasAttribute(attr)) continue;
        const old = node.getAttribute(attr);
        node.setAttribute(attr, mask(old));
        undo.push(() => node.setAttribute(attr, old));
      }}
    }}
    if (mode === 'block' && r.width > 0 && r.height > 0) {{
      const box = document.createElement('div');
      box.setAttribute('data-sessionshot-redaction', '');
      box.style.cssText = 'position:absolute;background:#000;z-index:2147483647;'
        + 'pointer-events:none;margin:0;padding:0;border:0;'
        + `left:${{r.left + window.scrollX}}px;top:${{r.top + window.scrollY}}px;`
        + `width:${{r.width}}px;height:${{r.height}}px;`;
      document.documentElement.appendChild(box);
      undo.push(() => box.remove());
    }}
  }};
  const style = document.createElement('style');
  style.setAttribute('data-sessionshot-redaction', '');
  style.textContent = mode === 'blur'
    ? `${{selector}} {{ filter: blur({BLUR_RADIUS_PX}px) !important; }}`
    : `${{selector}} {{ visibility: hidden !important; }}`;
  document.documentElement.appendChild(style);
  undo.push(() => style.remove());
  for (const el of document.querySelectorAll(selector)) redact(el);
  const observer = new MutationObserver((mutations) => {{
    for (const m of mutations) {{
      if (m.type === 'characterData') {{
        if (inside(m.target)) scrubText(m.target);
        continue;
      }}
      for (const node of m.addedNodes) {{
        if (node.nodeType === Node.TEXT_NODE) {{
          if (inside(node)) scrubText(node);
        }} else if (node.nodeType === Node.ELEMENT_NODE) {{
          if (node.closest(selector)) redact(node.closest(selector));
          for (const el of node.querySelectorAll(selector)) redact(el);
        }}
      }}
    }}
  }});
  observer.observe(document.documentElement,
    {{subtree: true, childList: true, characterData: true}});
  undo.push(() => observer.disconnect());
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
    """Redact every element matching the selectors, now and until :func:`restore`."""
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
