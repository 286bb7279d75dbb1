import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  ValidationError,
  WebhookVerificationError,
  signWebhook,
  verifyWebhook,
} from "../dist/index.js";
import { client, env } from "./env.mjs";

const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe("usage", () => {
  test("the workspace's report, as JSON and as CSV", async () => {
    const sdk = client();
    const report = await sdk.usage.get({ from: day(-1), to: day(1) });
    assert.match(report.workspaceId, /^ws_/);
    for (const name of ["sessions", "captures", "durationSeconds", "credits"]) {
      assert.equal(typeof report.totals[name], "number");
    }
    assert.ok(Array.isArray(report.daily) && Array.isArray(report.byKey));
    const csv = await sdk.usage.csv({ from: new Date(Date.now() - 86_400_000), to: day(1) });
    assert.match(csv.split("\n")[0], /^sessionId,kind,keyId,startedAt,closedAt/);

    const err = await sdk.usage.get({ from: day(1), to: day(-1) }).catch((e) => e);
    assert.ok(err instanceof ValidationError, String(err));
  });
});

describe("webhooks", () => {
  test("endpoints: create, list, rotate, deliveries, delete", async () => {
    const sdk = client();
    const created = await sdk.webhooks.create({
      url: `${env.site}/echo`,
      events: ["capture.completed"],
    });
    assert.match(created.id, /^wh_/);
    assert.match(created.secret, /^whsec_/);
    try {
      const listed = await sdk.webhooks.list();
      const mine = listed.webhooks.find((w) => w.id === created.id);
      assert.ok(mine);
      assert.equal(mine.secret, undefined);
      const rotated = await sdk.webhooks.rotate(created.id);
      assert.notEqual(rotated.secret, created.secret);
      const deliveries = await sdk.webhooks.deliveries(created.id);
      assert.ok(Array.isArray(deliveries.deliveries));
    } finally {
      const removed = await sdk.webhooks.delete(created.id);
      assert.equal(removed.id, created.id);
    }
  });

  test("signatures made by the Python standardwebhooks library verify", async () => {
    const vectors = JSON.parse(readFileSync(env.webhookVectors, "utf8"));
    assert.ok(vectors.length >= 2);
    for (const v of vectors) {
      const headers = {
        "Webhook-Id": v.id,
        "Webhook-Timestamp": String(v.timestamp),
        "Webhook-Signature": v.signature,
      };
      const now = v.timestamp * 1000;
      assert.equal(await signWebhook(v.secret, v.id, v.timestamp, v.payload), v.signature.split(" ")[0]);
      const event = await verifyWebhook(v.secret, v.payload, headers, { now });
      assert.deepEqual(event, JSON.parse(v.payload));
      const asBytes = await verifyWebhook(v.secret, new TextEncoder().encode(v.payload), new Headers(headers), { now });
      assert.deepEqual(asBytes, event);

      const tampered = await verifyWebhook(v.secret, v.payload + " ", headers, { now }).catch((e) => e);
      assert.ok(tampered instanceof WebhookVerificationError, String(tampered));
      const late = await verifyWebhook(v.secret, v.payload, headers, { now: now + 301_000 }).catch((e) => e);
      assert.ok(late instanceof WebhookVerificationError, String(late));
      const wrongSecret = await verifyWebhook("whsec_" + btoa("another secret"), v.payload, headers, { now }).catch((e) => e);
      assert.ok(wrongSecret instanceof WebhookVerificationError);
      const missing = await verifyWebhook(v.secret, v.payload, { "webhook-id": v.id }, { now }).catch((e) => e);
      assert.ok(missing instanceof WebhookVerificationError);
      // Either of two secrets verifies (a rotated endpoint signs with both for a day).
      assert.deepEqual(await verifyWebhook(["whsec_" + btoa("old"), v.secret], v.payload, headers, { now }), event);
    }
  });
});
