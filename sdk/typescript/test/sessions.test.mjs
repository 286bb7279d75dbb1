import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  AuthenticationError,
  BrowserSession,
  DomainNotAllowedError,
  NotFoundError,
  SelectorTimeoutError,
  SessionClosedError,
  SessionShot,
  ValidationError,
} from "../dist/index.js";
import { client, env } from "./env.mjs";

describe("sessions", () => {
  test("goto, an ai snapshot, a click by ref, then close", async () => {
    const sdk = client();
    const session = await sdk.sessions.create({ maxTtlSeconds: 120, metadata: { t: "sdk" } });
    assert.ok(session instanceof BrowserSession);
    assert.match(session.id, /^sess_/);
    assert.equal(session.data.status, "active");
    try {
      const nav = await session.goto(`${env.site}/form`);
      assert.equal(nav.success, true);
      assert.equal(nav.status, 200);

      const snap = await session.snapshot({ mode: "ai" });
      assert.ok(snap.refCount > 0, snap.snapshot);
      const line = snap.snapshot.split("\n").find((l) => l.includes("Click me"));
      const ref = /\[ref=([^\]]+)\]/.exec(line ?? "")?.[1];
      assert.ok(ref, `no ref for the button in:\n${snap.snapshot}`);

      const clicked = await session.click({ ref });
      assert.equal(clicked.matched, true);
      assert.equal(clicked.tagName, "button");
      assert.equal(typeof clicked.clickedPoint.x, "number");

      const clicks = await session.evaluate({ expression: "window.clicks" });
      assert.equal(clicks.result, 1);
      const text = await session.content({ format: "text", selector: "#out" });
      assert.match(text.content, /clicked 1/);

      const listed = await sdk.sessions.list({ status: "active" });
      assert.ok(listed.sessions.some((s) => s.id === session.id));
    } finally {
      const closed = await session.close();
      assert.equal(closed.status, "closed");
      assert.equal(closed.closeReason, "closed");
      assert.equal(closed.expiresInSeconds, 0);
    }
    const final = await sdk.sessions.get(session.id);
    assert.equal(final.actionBreakdown.click.success, 1);
    assert.ok(final.billedCredits >= 1);
    const again = await sdk.sessions.close(session.id);
    assert.equal(again.billedCredits, final.billedCredits);

    const err = await session.click({ selector: "#btn" }).catch((e) => e);
    assert.ok(err instanceof SessionClosedError, String(err));
    assert.equal(err.code, "SESSION_CLOSED");
    assert.equal(err.status, 409);
    assert.equal(err.session.id, session.id);
    assert.equal(err.expiresInSeconds, 0);
  });

  test("failed and refused actions are typed errors; use() closes the session", async () => {
    const sdk = client();
    let id;
    await sdk.sessions.use({ maxTtlSeconds: 60 }, async (session) => {
      id = session.id;
      await session.goto({ url: `${env.site}/form`, waitUntil: "load" });

      const missing = await session.click({ selector: "#absent", timeout: 300 }).catch((e) => e);
      assert.ok(missing instanceof SelectorTimeoutError, String(missing));
      assert.equal(missing.code, "SELECTOR_TIMEOUT");
      assert.equal(missing.status, 422);

      const refused = await session.goto(`${env.otherSite}/`).catch((e) => e);
      assert.ok(refused instanceof DomainNotAllowedError, String(refused));
      assert.equal(refused.status, 403);

      const invalid = await session.wait({ ms: 99_999 }).catch((e) => e);
      assert.ok(invalid instanceof ValidationError, String(invalid));

      const both = await session.click({ selector: "#btn", ref: "e1" }).catch((e) => e);
      assert.ok(both instanceof ValidationError, String(both));

      const query = await session.query({ selector: "#absent" });
      assert.equal(query.matched, false);

      const aborted = await session
        .wait({ ms: 5000 }, { signal: AbortSignal.timeout(200) })
        .catch((e) => e);
      assert.equal(aborted.name, "TimeoutError");
    });
    const closed = await sdk.sessions.get(id);
    assert.equal(closed.status, "closed");
  });

  test("an unknown session is NOT_FOUND; a bad key is UNAUTHENTICATED", async () => {
    const err = await client()
      .sessions.get("sess_00000000-0000-4000-8000-000000000000")
      .catch((e) => e);
    assert.ok(err instanceof NotFoundError, String(err));
    assert.equal(err.code, "NOT_FOUND");

    const stranger = new SessionShot({ baseUrl: env.url, apiKey: "ssk_key_nope_nope" });
    const denied = await stranger.sessions.list().catch((e) => e);
    assert.ok(denied instanceof AuthenticationError, String(denied));
    assert.equal(denied.code, "UNAUTHENTICATED");
    assert.equal(denied.status, 401);
  });

  test("baseUrl and apiKey default to SESSIONSHOT_URL and SESSIONSHOT_API_KEY", async () => {
    const fromEnv = new SessionShot();
    assert.equal(fromEnv.baseUrl, env.url.replace(/\/+$/, ""));
    assert.ok(Array.isArray((await fromEnv.sessions.list()).sessions));
    const saved = process.env.SESSIONSHOT_API_KEY;
    delete process.env.SESSIONSHOT_API_KEY;
    try {
      assert.throws(() => new SessionShot({ baseUrl: env.url }), /apiKey is required/);
    } finally {
      process.env.SESSIONSHOT_API_KEY = saved;
    }
  });
});
