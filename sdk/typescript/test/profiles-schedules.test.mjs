import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { DomainNotAllowedError, NotFoundError } from "../dist/index.js";
import { client, env } from "./env.mjs";

describe("profiles", () => {
  test("a session's state saved as a profile, used by a session, then deleted", async () => {
    const sdk = client();
    const profile = await sdk.sessions.use({}, async (session) => {
      await session.goto(`${env.site}/form`);
      await session.evaluate({ expression: "localStorage.setItem('team', 'sdk'), 1" });
      return session.saveProfile({ name: "sdk profile" });
    });
    assert.match(profile.id, /^prof_/);
    assert.equal(profile.name, "sdk profile");
    assert.ok(profile.origins.some((origin) => origin.startsWith(env.site)), JSON.stringify(profile));

    const listed = await sdk.profiles.list();
    assert.ok(listed.profiles.some((p) => p.id === profile.id));
    assert.equal((await sdk.profiles.get(profile.id)).cookieCount, profile.cookieCount);

    const team = await sdk.sessions.use({ auth: { profile: profile.id } }, async (session) => {
      await session.goto(`${env.site}/form`);
      return (await session.evaluate({ expression: "localStorage.getItem('team')" })).result;
    });
    assert.equal(team, "sdk");

    await sdk.profiles.delete(profile.id);
    const gone = await sdk.profiles.get(profile.id).catch((e) => e);
    assert.ok(gone instanceof NotFoundError, String(gone));
  });
});

describe("schedules", () => {
  test("create, read, pause, list and delete a schedule", async () => {
    const sdk = client();
    const schedule = await sdk.schedules.create({
      name: "yearly",
      cron: "0 0 1 1 *",
      timezone: "Europe/Paris",
      capture: { url: `${env.site}/`, output: { format: "png" } },
    });
    assert.match(schedule.id, /^sch_/);
    assert.equal(schedule.paused, false);
    assert.ok(schedule.nextRunAt);
    try {
      const detail = await sdk.schedules.get(schedule.id);
      assert.deepEqual(detail.recentCaptures, []);
      const paused = await sdk.schedules.update(schedule.id, { paused: true });
      assert.equal(paused.paused, true);
      const listed = await sdk.schedules.list();
      assert.ok(listed.schedules.some((s) => s.id === schedule.id));
    } finally {
      await sdk.schedules.delete(schedule.id);
    }
    const gone = await sdk.schedules.get(schedule.id).catch((e) => e);
    assert.ok(gone instanceof NotFoundError, String(gone));

    const refused = await sdk.schedules
      .create({ name: "x", cron: "0 0 1 1 *", capture: { url: `${env.otherSite}/` } })
      .catch((e) => e);
    assert.ok(refused instanceof DomainNotAllowedError, String(refused));
  });
});
