import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  DomainNotAllowedError,
  IdempotencyConflictError,
  NotFoundError,
  SessionShotError,
  ValidationError,
} from "../dist/index.js";
import { client, env } from "./env.mjs";

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe("captures", () => {
  test("create().wait() reaches completed and the file downloads as a PNG", async () => {
    const sdk = client();
    const statuses = [];
    const capture = await sdk.captures
      .create({ url: `${env.site}/form`, output: { format: "png" }, metadata: { from: "sdk" } })
      .wait({ timeoutMs: 120_000, onStatus: (c) => statuses.push(c.status) });
    assert.equal(capture.status, "completed", JSON.stringify(capture));
    assert.match(capture.id, /^cap_/);
    assert.deepEqual(capture.metadata, { from: "sdk" });
    assert.equal(capture.result.format, "png");
    const bytes = await sdk.captures.download(capture);
    assert.deepEqual([...bytes.subarray(0, 8)], PNG_MAGIC);
    assert.equal(bytes.length, capture.result.bytes);

    const byId = await sdk.captures.download(capture.id);
    assert.deepEqual([...byId.subarray(0, 8)], PNG_MAGIC);
    assert.ok(statuses.length >= 1);
  });

  test("the accepted capture is typed and waits on its own", async () => {
    const sdk = client();
    const created = await sdk.captures.create({ url: `${env.site}/` });
    assert.equal(created.status, "queued");
    assert.equal(created.statusUrl, `/api/captures/${created.id}`);
    assert.deepEqual(Object.keys(created).sort(), ["createdAt", "id", "status", "statusUrl"]);
    const done = await created.wait({ timeoutMs: 120_000 });
    assert.equal(done.id, created.id);
    assert.ok(["completed", "failed"].includes(done.status));

    const page = await sdk.captures.list({ limit: 100 });
    assert.ok(page.captures.some((c) => c.id === created.id));
    assert.ok(page.captures.every((c) => c.result?.url === undefined));
    const seen = [];
    for await (const listed of sdk.captures.iterate({ limit: 1 })) {
      seen.push(listed.id);
      if (seen.length === 3) break;
    }
    assert.equal(new Set(seen).size, seen.length);
  });

  test("an unknown capture is a NotFoundError", async () => {
    const err = await client()
      .captures.get("cap_00000000-0000-4000-8000-000000000000")
      .catch((e) => e);
    assert.ok(err instanceof NotFoundError, String(err));
    assert.ok(err instanceof SessionShotError);
    assert.equal(err.code, "NOT_FOUND");
    assert.equal(err.status, 404);
    assert.ok(err.message.length > 0);
  });

  test("a plain-HTTP URL is a ValidationError", async () => {
    const err = await client()
      .captures.create({ url: "http://app.test/" })
      .catch((e) => e);
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.code, "VALIDATION_ERROR");
    assert.equal(err.status, 400);
  });

  test("a host outside the allowed domains is a DomainNotAllowedError", async () => {
    const err = await client()
      .captures.create({ url: `${env.otherSite}/` })
      .catch((e) => e);
    assert.ok(err instanceof DomainNotAllowedError, String(err));
    assert.equal(err.code, "DOMAIN_NOT_ALLOWED");
    assert.equal(err.status, 403);
  });

  test("an idempotency key replays the first answer; another body conflicts", async () => {
    const sdk = client();
    const key = `sdk-${Date.now()}-${Math.random()}`;
    const body = { url: `${env.site}/`, metadata: { n: 1 } };
    const first = await sdk.captures.create(body, { idempotencyKey: key });
    const again = await sdk.captures.create(body, { idempotencyKey: key });
    assert.equal(again.id, first.id);
    const err = await sdk.captures
      .create({ ...body, metadata: { n: 2 } }, { idempotencyKey: key })
      .catch((e) => e);
    assert.ok(err instanceof IdempotencyConflictError, String(err));
    assert.equal(err.code, "IDEMPOTENCY_CONFLICT");
    assert.equal(err.status, 409);
  });

  test("a batch answers per item", async () => {
    const answer = await client().captures.batch({
      defaults: { output: { format: "jpeg", quality: 60 } },
      captures: [{ url: `${env.site}/` }, { url: `${env.otherSite}/` }],
    });
    assert.equal(answer.captures.length, 2);
    assert.equal(answer.captures[0].status, "queued");
    assert.match(answer.captures[0].id, /^cap_/);
    assert.equal(answer.captures[1].error.code, "DOMAIN_NOT_ALLOWED");
  });

  test("an aborted signal stops a long-poll", async () => {
    const sdk = client();
    const created = await sdk.captures.create({
      url: `${env.site}/slow?ms=4000`,
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop waiting")), 200);
    const err = await sdk.captures
      .get(created.id, { wait: 30, signal: controller.signal })
      .catch((e) => e);
    assert.equal(err.message, "stop waiting");
    const already = await sdk.captures.get(created.id, { signal: AbortSignal.abort() }).catch((e) => e);
    assert.equal(already.name, "AbortError");
  });
});
