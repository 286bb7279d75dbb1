"""``evaluate`` results as strict JSON: every JavaScript value has a JSON answer.

Playwright hands Python a ``datetime`` for a Date, a compiled pattern for a RegExp, an
exception object for an Error and ``nan`` / ``inf`` for non-finite numbers, and it loses
Maps, Sets and invalid Dates on the way. None of that is JSON. So the expression runs inside
:data:`EVALUATE_JS`, which turns its value into plain JSON data in the page (within the size
cap and a depth bound, so a huge value never crosses the wire whole), and
:func:`strict_json` checks what arrives: a page can redefine the built-ins the conversion
uses, so nothing from the page is trusted to be JSON. The substitutes (docs/sessions.md):

- ``NaN``, ``Infinity``, ``-Infinity``: the strings ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"`` (as in protobuf's JSON mapping); ``-0`` is ``0``.
- ``undefined``, functions, symbols: ``null``. BigInt: its decimal digits as a string.
- Date: ISO-8601 UTC string (``null`` for an invalid Date). RegExp: its source, ``"/a+/g"``.
  Error: ``{"name", "message", "stack"}``. Map: ``[[key, value], …]``. Set: ``[value, …]``.
  URL: its ``href``. Typed array: array of numbers. Boxed primitive: the primitive. DOM node,
  window: ``"ref: <Node>"``, ``"ref: <Window>"``, as Playwright says.
- A reference back to an enclosing object: ``"[Circular]"``. A value nested deeper than
  :data:`MAX_DEPTH`: ``"[Too deep]"`` (and ``truncated``). A property whose getter throws:
  ``null``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from playwright.async_api import Page

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects in a result. Chromium refuses to hand over a value
nested about 90 objects deep ("object reference chain is too long"); this stays under it."""

# Playwright's own normalisation of an expression: a function declaration is wrapped so it
# evaluates to the function, which is then called.
_FUNCTION_DECLARATION = re.compile(r"^(async)?\s*function(\s|\()")
_SURROGATE = re.compile("[\ud800-\udfff]")

# The expression is evaluated as Playwright's evaluate does it (global eval, a function is
# called, a promise awaited), then converted. ``budget`` counts at most the bytes of the
# compact UTF-8 JSON emitted so far (a string's UTF-16 length never exceeds its UTF-8 size),
# so once it runs out the text is past the cap: the rest becomes null and a long string is
# cut, and the capped text the client gets is the same as the whole value's would be.
# Anything left out sets ``truncated``.
EVALUATE_JS = """async ([expression, limit, maxDepth]) => {
  let value = globalThis.eval(expression);
  if (typeof value === 'function') value = value();
  value = await value;
  let budget = limit, truncated = false;
  const ancestors = [];
  const BOXED = ['Number', 'String', 'Boolean', 'BigInt', 'Symbol'].map((n) => `[object ${n}]`);
  const tag = (v) => Object.prototype.toString.call(v);
  const is = (v, ctor, name) =>
    (typeof ctor === 'function' && v instanceof ctor) || tag(v) === `[object ${name}]`;
  const text = (s) => {
    const keep = Math.max(budget, 0) + 1;
    budget -= s.length + 2;
    if (s.length <= keep) return s;
    truncated = true;
    return s.slice(0, keep);
  };
  const spent = () => (budget < 0 ? (truncated = true) : false);
  const read = (v, key) => {
    try { return v[key]; } catch { return null; }  // a throwing getter reads as null
  };
  const items = (list, depth) => {
    const out = [];
    budget -= 2;
    for (const item of list) {
      if (spent()) break;
      out.push(convert(item, depth));
    }
    return out;
  };
  const indexed = function* (v) { for (let i = 0; i < v.length; i++) yield read(v, i); };
  const pairs = function* (map) {
    for (const [key, item] of Map.prototype.entries.call(map)) yield [key, item];
  };
  const fields = (v, keys, depth) => {
    const out = Object.create(null);
    budget -= 2;
    for (const key of keys) {
      if (spent()) break;
      budget -= key.length + 3;
      out[key] = convert(read(v, key), depth);
    }
    return out;
  };
  const object = (v, depth) => {
    if (is(v, globalThis.Date, 'Date')) {
      const time = Date.prototype.getTime.call(v);
      return Number.isNaN(time) ? convert(null) : text(Date.prototype.toISOString.call(v));
    }
    if (is(v, globalThis.RegExp, 'RegExp')) return text(RegExp.prototype.toString.call(v));
    if (is(v, globalThis.Error, 'Error')) return fields(v, ['name', 'message', 'stack'], depth);
    if (is(v, globalThis.Map, 'Map')) return items(pairs(v), depth);
    if (is(v, globalThis.Set, 'Set')) return items(Set.prototype.values.call(v), depth);
    if (typeof URL === 'function' && v instanceof URL) return text(String(v.href));
    if (typeof Node === 'function' && v instanceof Node) return text('ref: <Node>');
    if (v === globalThis || tag(v) === '[object Window]') return text('ref: <Window>');
    if (BOXED.includes(tag(v))) return convert(v.valueOf(), depth);
    if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      return items(indexed(v), depth);
    }
    return fields(v, Object.keys(v), depth);
  };
  const convert = (v, depth = 0) => {
    if (spent()) return null;
    switch (typeof v) {
      case 'string': return text(v);
      case 'boolean': budget -= 4; return v;
      case 'bigint': return text(String(v));
      case 'number':
        if (Number.isFinite(v)) { budget -= 1; return v === 0 ? 0 : v; }
        return text(Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
      case 'undefined': case 'function': case 'symbol': budget -= 4; return null;
    }
    if (v === null) { budget -= 4; return null; }
    if (depth >= maxDepth) { truncated = true; return text('[Too deep]'); }
    if (ancestors.includes(v)) return text('[Circular]');
    ancestors.push(v);
    const before = budget;
    try {
      return object(v, depth + 1);
    } catch {
      budget = before - 4;  // what was counted for the lost part is not written
      return null;
    } finally {
      ancestors.pop();
    }
  };
  return {value: convert(value), truncated};
}"""

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _text(value: str) -> str:
    """``value`` encodable as UTF-8: a lone surrogate (valid in JavaScript) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", value)


def strict_json(value: Any, depth: int = 0) -> Any:
    """``value`` with only what strict JSON holds: anything else gets the documented
    substitute (``null`` for what the page could not have meant)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else _NON_FINITE[value]
    if isinstance(value, str):
        return _text(value)
    if depth >= MAX_DEPTH:
        return "[Too deep]"
    if isinstance(value, list):
        return [strict_json(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_text(str(k)): strict_json(v, depth + 1) for k, v in value.items()}
    return None


async def evaluate_json(page: Page, expression: str, limit: int) -> tuple[Any, bool]:
    """The expression's value as strict JSON data, and whether part of it was left out.

    ``limit`` is the cap in bytes: data bigger than that still comes back bigger (cut short
    in the page), for the caller to cap as text.
    """
    expression = expression.strip()
    if _FUNCTION_DECLARATION.match(expression):
        expression = f"({expression})"
    answer = await page.evaluate(EVALUATE_JS, [expression, limit, MAX_DEPTH])
    if not isinstance(answer, dict):  # the page redefined what the conversion relies on
        return None, False
    return strict_json(answer.get("value")), answer.get("truncated") is True
