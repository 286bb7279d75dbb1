"""Redaction that leaks nothing and moves nothing.

Every matched element is measured first, while the page is laid out exactly as it will be
rendered. Then it is hidden: ``visibility: hidden`` (with transitions off, so none can hold
it visible) set inline and ``!important`` on the element and on everything inside it, open
shadow trees included, and by a stylesheet for pseudo-elements and for content that shows
up later. Hidden text is never painted, so it reaches neither the pixels nor a PDF's text
layer, and hiding changes no layout at all. Replacing the text instead would reflow the page:
in a table sized by its content, masking a column's values changes the column's width, and
boxes measured before (or while) the text changes no longer fit their cells.

Over each measured box a layer at the end of the document draws, positioned absolutely in
document coordinates, either an opaque box (``block``) or, for ``blur``, a box of the
element's background colour holding its lines of text as bars of their colour, blurred far
beyond the stroke width and clipped to the box: it shows where text was, and nothing of what
it said.

A mutation observer redacts elements that match later, or that the page re-creates, before
the next frame is painted, and puts the hiding back if the page touches it. ``restore`` puts
a live page back as it was.
"""

from __future__ import annotations

from playwright.async_api import Page

from sessions.action_models import Redaction

BLUR_RADIUS_PX = 24

_APPLY_JS = """
({selectors, mode, blurPx}) => {
  const OWN = 'data-sessionshot-redaction';
  const selector = selectors.join(',');
  // A bad selector throws here, before anything on the page has changed.
  const initial = [...document.querySelectorAll(selector)];
  const undo = [];
  const seen = new Set();
  const drawn = new Set();
  const ours = (el) => el.closest(`[${OWN}]`) !== null;
  // An element inside another matched one is hidden with it and covered by its box.
  const outermost = (el) => el.parentElement?.closest(selector) == null;

  const rectsOf = (el) => {
    const rects = [...el.getClientRects()];
    if (rects.length === 0) {  // display: contents has no box of its own
      const range = document.createRange();
      range.selectNodeContents(el);
      rects.push(range.getBoundingClientRect());
    }
    return rects.filter((r) => r.width > 0 && r.height > 0);
  };
  const linesOf = (el) => {
    const lines = [];
    const range = document.createRange();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (!/\\S/.test(node.nodeValue) || node.parentElement === null) continue;
      const color = getComputedStyle(node.parentElement).color;
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) {
        if (r.width > 0 && r.height > 0) lines.push({r, color});
      }
    }
    return lines;
  };
  const measure = (el) => mode === 'block' ? {boxes: rectsOf(el), fill: '#000', lines: []}
    : {boxes: rectsOf(el), fill: getComputedStyle(el).backgroundColor, lines: linesOf(el)};

  const force = (node, prop, value) => {
    const style = node.style;
    if (!(style instanceof CSSStyleDeclaration)) return;
    const old = style.getPropertyValue(prop);
    const priority = style.getPropertyPriority(prop);
    if (old === value && priority === 'important') return;
    style.setProperty(prop, value, 'important');
    undo.push(() => old ? style.setProperty(prop, old, priority) : style.removeProperty(prop));
  };
  // Transitions first: a transition on visibility would keep it visible while it runs.
  const hideOne = (el) => {
    if (!el.hasAttribute('style')) {
      undo.push(() => { if (el.getAttribute('style') === '') el.removeAttribute('style'); });
    }
    force(el, 'transition-property', 'none');
    force(el, 'visibility', 'hidden');
  };
  const hide = (el) => {
    hideOne(el);
    if (el.shadowRoot) for (const child of el.shadowRoot.children) hide(child);
    for (const child of el.children) hide(child);
  };

  // Every declaration inline and !important: page styles cannot move or recolour the layer.
  const part = (props) => {
    const div = document.createElement('div');
    div.setAttribute(OWN, '');
    const all = {display: 'block', visibility: 'visible', 'pointer-events': 'none', ...props};
    div.style.cssText = 'all: initial !important;'
      + Object.entries(all).map(([k, v]) => `${k}: ${v} !important;`).join('');
    return div;
  };
  const place = (r, origin) => ({
    position: 'absolute', left: `${r.left - origin.left}px`, top: `${r.top - origin.top}px`,
    width: `${r.width}px`, height: `${r.height}px`,
  });
  const layer = part({position: 'absolute', left: '0', top: '0', width: '0', height: '0'});
  // Hides at once what matches later; the observer then hides it inline and covers it.
  const sheet = document.createElement('style');
  sheet.setAttribute(OWN, '');
  sheet.style.setProperty('display', 'none', 'important');
  const scope = `:is(${selector})`;
  sheet.textContent = [scope, `${scope} *`, `${scope}::before`, `${scope}::after`,
    `${scope} *::before`, `${scope} *::after`].join(',')
    + ' { visibility: hidden !important; transition-property: none !important; }';
  layer.appendChild(sheet);

  const draw = ({boxes, fill, lines}) => {
    // The layer's own corner, measured now, maps viewport to layer coordinates whatever
    // the scroll position and however the root element is positioned.
    const origin = layer.getBoundingClientRect();
    for (const r of boxes) {
      const at = place(r, origin);
      const key = [at.left, at.top, at.width, at.height].join();
      if (drawn.has(key)) continue;  // a re-created element gets one box, not one per copy
      drawn.add(key);
      const box = part({...at, overflow: 'hidden', 'z-index': '2147483647', background: fill});
      if (mode === 'blur') {
        const blur = part({position: 'absolute', left: '0', top: '0', width: '100%',
          height: '100%', filter: `blur(${blurPx}px)`});
        for (const line of lines) {
          blur.appendChild(part({...place(line.r, r), background: line.color}));
        }
        box.appendChild(blur);
      }
      layer.appendChild(box);
    }
  };
  const redact = (el) => {
    if (seen.has(el) || ours(el)) return;
    seen.add(el);
    const plan = outermost(el) ? measure(el) : null;
    hide(el);
    if (plan !== null) draw(plan);
  };

  const plans = initial.filter((el) => outermost(el)).map(measure);
  document.documentElement.appendChild(layer);
  undo.push(() => layer.remove());
  for (const el of initial) {
    seen.add(el);
    hide(el);
  }
  plans.forEach(draw);

  // deep: the element was added, or an attribute other than style changed what matches.
  const revisit = (el, deep) => {
    if (ours(el)) return;
    if (el.matches(selector)) redact(el);
    if (el.closest(selector) !== null) (deep ? hide : hideOne)(el);
    if (deep) for (const match of el.querySelectorAll(selector)) redact(match);
  };
  const observer = new MutationObserver((records) => {
    for (const m of records) {
      if (m.type === 'attributes') {
        revisit(m.target, m.attributeName !== 'style');
        continue;
      }
      for (const node of m.addedNodes) {
        if (node.nodeType === Node.ELEMENT_NODE) revisit(node, true);
      }
    }
  });
  observer.observe(document.documentElement, {subtree: true, childList: true, attributes: true});
  undo.push(() => observer.disconnect());
  window.__sessionshotRedactionUndo = undo;
  return seen.size;
}
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
        _APPLY_JS,
        {"selectors": redaction.selectors, "mode": redaction.mode, "blurPx": BLUR_RADIUS_PX},
    )
    return count


async def restore(page: Page, redaction: Redaction | None) -> None:
    """Undo :func:`apply` on a live page."""
    if redaction is not None and redaction.selectors:
        await page.evaluate(_RESTORE_JS)
