// Drive a live session step by step: navigate, read the page as an AI snapshot, click an
// element by its ref, and close the session (billed at close).
import { SelectorTimeoutError, SessionShot } from "sessionshot";

const client = new SessionShot({
  baseUrl: process.env.SESSIONSHOT_URL ?? "https://sessionshot.example.com",
  apiKey: process.env.SESSIONSHOT_API_KEY ?? "YOUR_API_KEY",
});

const title = await client.sessions.use({ maxTtlSeconds: 120 }, async (session) => {
  await session.goto({ url: "https://example.com/", waitUntil: "load" });
  const { snapshot, refCount } = await session.snapshot({ mode: "ai" });
  console.log(`${refCount} refs`);
  const ref = /\[ref=(e\d+)\]/.exec(snapshot)?.[1];
  if (ref) {
    const { clickedPoint, url } = await session.click({ ref });
    console.log("clicked at", clickedPoint.x, clickedPoint.y, "now on", url);
  }
  try {
    await session.waitForSelector({ selector: "h1", timeout: 2000 });
  } catch (err) {
    if (!(err instanceof SelectorTimeoutError)) throw err;
  }
  const { result } = await session.evaluate<string>({ expression: "document.title" });
  const shot = await session.screenshot({ format: "png", fullPage: true });
  console.log("screenshot:", shot.result.url, shot.result.bytes, "bytes");
  return result;
});
console.log(title);

// Usage of the workspace in July 2026.
const usage = await client.usage.get({ from: "2026-07-01", to: "2026-08-01" });
console.log(usage.totals.credits, "credits");
