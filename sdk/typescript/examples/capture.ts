// Create a capture, wait for it to finish, and save the PNG (the API docs' capture.ts,
// with the client doing the polling).
import { writeFile } from "node:fs/promises";

import { DomainNotAllowedError, SessionShot, type Capture } from "sessionshot";

const client = new SessionShot({
  baseUrl: process.env.SESSIONSHOT_URL ?? "https://sessionshot.example.com",
  apiKey: process.env.SESSIONSHOT_API_KEY ?? "YOUR_API_KEY",
});

async function main(): Promise<void> {
  let capture: Capture;
  try {
    capture = await client.captures
      .create({
        url: "https://example.com/dashboard",
        output: { format: "png", fullPage: true, width: 1280, height: 800 },
        auth: {
          cookies: [{ name: "session", value: "PLACEHOLDER", domain: "example.com" }],
          localStorage: [{ key: "workspace_id", value: "acme" }],
        },
        actions: [
          { type: "waitForSelector", selector: "[data-ready]" },
          { type: "click", selector: "#reports-tab" },
        ],
        redaction: { selectors: [".billing-info", "[data-private]"], mode: "block" },
      })
      .wait({ onStatus: (c) => console.log(c.status) });
  } catch (err) {
    if (err instanceof DomainNotAllowedError) {
      console.error("Allow the domain first:", err.message);
      return;
    }
    throw err;
  }

  if (capture.status === "failed") {
    console.error(capture.error?.code, capture.error?.message);
    return;
  }
  console.log(capture.status, capture.result?.url);
  const bytes = await client.captures.download(capture);
  await writeFile("capture.png", bytes);
}

await main();
