import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { RateLimitedError, SessionShot, errorFromAnswer, NotFoundError, ActionFailedError } from "../dist/index.js";
import { parseRetryAfter } from "../dist/http.js";
import { env } from "./env.mjs";

describe("retries", () => {
  test("429 answers are retried after Retry-After until they pass", async () => {
    const retries = [];
    const sdk = new SessionShot({
      baseUrl: env.limitedUrl,
      apiKey: env.limitedApiKey,
      maxRetries: 5,
      onRetry: (info) => retries.push(info),
    });
    for (let i = 0; i < 8; i++) {
      const page = await sdk.sessions.list();
      assert.ok(Array.isArray(page.sessions));
    }
    assert.ok(retries.length >= 1, "the rate limit was never reached");
    for (const retry of retries) {
      assert.equal(retry.status, 429);
      assert.equal(retry.path, "/v1/sessions");
      assert.equal(retry.delayMs % 1000, 0, JSON.stringify(retry));
    }
  });

  test("without retries left, a 429 is a RateLimitedError with Retry-After", async () => {
    const sdk = new SessionShot({ baseUrl: env.limitedUrl, apiKey: env.limitedApiKey, maxRetries: 0 });
    let err;
    for (let i = 0; i < 20 && !err; i++) {
      err = await sdk.sessions.list().then(() => undefined, (e) => e);
    }
    assert.ok(err instanceof RateLimitedError, String(err));
    assert.equal(err.code, "RATE_LIMITED");
    assert.equal(err.status, 429);
    assert.ok(err.retryAfterSeconds >= 1);
  });

  test("Retry-After is read as seconds or as an HTTP date", () => {
    assert.equal(parseRetryAfter("3"), 3);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter("soon"), undefined);
    const now = Date.parse("2026-07-02T10:15:00Z");
    assert.equal(parseRetryAfter("Thu, 02 Jul 2026 10:15:05 GMT", now), 5);
  });

  test("both error shapes map to typed errors", () => {
    const api = errorFromAnswer(404, { error: { code: "NOT_FOUND", message: "no" } });
    assert.ok(api instanceof NotFoundError);
    assert.equal(api.message, "no");
    const v1 = errorFromAnswer(422, { success: false, error: "gone", code: "PAGE_CRASHED", expiresInSeconds: 3 });
    assert.ok(v1 instanceof ActionFailedError);
    assert.equal(v1.code, "PAGE_CRASHED");
    assert.equal(v1.expiresInSeconds, 3);
    const unknown = errorFromAnswer(418, "teapot");
    assert.equal(unknown.code, "HTTP_418");
    assert.equal(unknown.status, 418);
  });
});

describe("platform", () => {
  test("without a global WebCrypto (early Node 18), node:crypto's is used", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const script = `
      Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
      const { signWebhook } = await import("./dist/index.js");
      process.stdout.write(await signWebhook("whsec_" + btoa("k"), "msg_1", 1, "x"));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "-e", script],
      { cwd: new URL("..", import.meta.url) },
    );
    const { signWebhook } = await import("../dist/index.js");
    assert.equal(stdout, await signWebhook("whsec_" + btoa("k"), "msg_1", 1, "x"));
  });
});
