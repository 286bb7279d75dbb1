import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { once } from "node:events";
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

  test("a delivery of the service verifies with the endpoint's secret", async () => {
    const sdk = client();
    let resolveDelivery;
    const delivered = new Promise((resolve) => (resolveDelivery = resolve));
    const server = createServer(
      { cert: readFileSync(env.tlsCert), key: readFileSync(env.tlsKey) },
      (request, response) => {
        const chunks = [];
        request.on("data", (chunk) => chunks.push(chunk));
        request.on("end", () => {
          response.writeHead(204).end();
          resolveDelivery({ body: Buffer.concat(chunks), headers: request.headers });
        });
      },
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address();
    const endpoint = await sdk.webhooks.create({
      url: `https://app.test:${port}/hook`,
      events: ["capture.completed"],
    });
    try {
      const sent = await sdk.webhooks.test(endpoint.id);
      assert.equal(sent.event, "webhook.test");
      const timeout = AbortSignal.timeout(60_000);
      const aborted = once(timeout, "abort").then(() => {
        throw new Error("no delivery within 60 s");
      });
      const { body, headers } = await Promise.race([delivered, aborted]);
      assert.equal(headers["webhook-id"], sent.id);
      const event = await verifyWebhook(new Uint8Array(body), headers, endpoint.secret);
      assert.equal(event.type, "webhook.test");
      const forged = await verifyWebhook(body.toString() + "x", headers, endpoint.secret).catch((e) => e);
      assert.ok(forged instanceof WebhookVerificationError, String(forged));
    } finally {
      server.close();
      await sdk.webhooks.delete(endpoint.id);
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
      const event = await verifyWebhook(v.payload, headers, v.secret, { now });
      assert.deepEqual(event, JSON.parse(v.payload));
      const asBytes = await verifyWebhook(new TextEncoder().encode(v.payload), new Headers(headers), v.secret, { now });
      assert.deepEqual(asBytes, event);

      const tampered = await verifyWebhook(v.payload + " ", headers, v.secret, { now }).catch((e) => e);
      assert.ok(tampered instanceof WebhookVerificationError, String(tampered));
      const late = await verifyWebhook(v.payload, headers, v.secret, { now: now + 301_000 }).catch((e) => e);
      assert.ok(late instanceof WebhookVerificationError, String(late));
      const wrongSecret = await verifyWebhook(v.payload, headers, "whsec_" + btoa("another secret"), { now }).catch((e) => e);
      assert.ok(wrongSecret instanceof WebhookVerificationError);
      const missing = await verifyWebhook(v.payload, { "webhook-id": v.id }, v.secret, { now }).catch((e) => e);
      assert.ok(missing instanceof WebhookVerificationError);
      // Either of two secrets verifies (a rotated endpoint signs with both for a day).
      assert.deepEqual(await verifyWebhook(v.payload, headers, ["whsec_" + btoa("old"), v.secret], { now }), event);
    }
  });
});
