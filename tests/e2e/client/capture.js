#!/usr/bin/env node
// Create a capture and poll it until it is final.
//
// A plain-JavaScript port of "capture.ts — create and poll" from the Captures API
// reference (Polling example): POST /api/captures, then GET /api/captures/<id> every
// 2 seconds while the status is "queued" or "processing". Node 20, global fetch, no packages,
// CommonJS (so it runs as a bare .js file without a package.json).
//
// Usage:
//   node capture.js [--base-url URL] [--api-key KEY] [TARGET_URL]
// or the environment:
//   SESSIONSHOT_BASE_URL   API base URL (default https://sessionshot.com, as in the reference)
//   SESSIONSHOT_API_KEY    workspace API key (prefer this to --api-key: argv is visible in ps)
//   CAPTURE_URL            target page (default https://example.com, as in the reference)
//   CAPTURE_POLL_MS        polling interval, default 2000
//   CAPTURE_TIMEOUT_MS     give up after this long, default 300000
//
// Prints the final capture object as one line of JSON on stdout and exits 0 once the capture
// is final ("completed" or "failed": read "status"). Exits 1, with the reason on stderr, when
// an HTTP call fails or the capture does not become final in time; 2 on bad usage.

"use strict";

function parseArgs(argv, env) {
  const options = {
    baseUrl: env.SESSIONSHOT_BASE_URL || "https://sessionshot.com",
    apiKey: env.SESSIONSHOT_API_KEY || "",
    url: env.CAPTURE_URL || "https://example.com",
    pollMs: Number(env.CAPTURE_POLL_MS || 2000),
    timeoutMs: Number(env.CAPTURE_TIMEOUT_MS || 300000),
  };
  const args = argv.slice();
  while (args.length > 0) {
    const arg = args.shift();
    if (arg === "--base-url") options.baseUrl = args.shift();
    else if (arg === "--api-key") options.apiKey = args.shift();
    else if (arg.startsWith("--")) throw new UsageError("unknown option " + arg);
    else options.url = arg;
  }
  if (!options.apiKey) throw new UsageError("an API key is required (SESSIONSHOT_API_KEY)");
  if (!options.baseUrl) throw new UsageError("a base URL is required (SESSIONSHOT_BASE_URL)");
  if (!(options.pollMs > 0) || !(options.timeoutMs > 0)) {
    throw new UsageError("CAPTURE_POLL_MS and CAPTURE_TIMEOUT_MS must be positive numbers");
  }
  options.baseUrl = options.baseUrl.replace(/\/+$/, "");
  return options;
}

class UsageError extends Error {}

// The reference reads `await response.json()` blindly; a client should not mistake an error
// body (401, 403, 429 …) for a capture, so non-2xx answers end the run with their body.
async function jsonOrThrow(response, what) {
  const text = await response.text();
  if (!response.ok) {
    throw new Error(what + " answered HTTP " + response.status + ": " + text);
  }
  return JSON.parse(text);
}

async function main() {
  const options = parseArgs(process.argv.slice(2), process.env);
  const deadline = Date.now() + options.timeoutMs;

  const response = await fetch(options.baseUrl + "/api/captures", {
    method: "POST",
    headers: {
      Authorization: "Bearer " + options.apiKey,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ url: options.url }),
  });

  const { id } = await jsonOrThrow(response, "POST /api/captures");

  let capture;
  do {
    if (Date.now() > deadline) {
      throw new Error("capture " + id + " not final after " + options.timeoutMs + " ms");
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    capture = await fetch(options.baseUrl + "/api/captures/" + id, {
      headers: { Authorization: "Bearer " + options.apiKey },
    }).then((res) => jsonOrThrow(res, "GET /api/captures/" + id));
  } while (capture.status === "queued" || capture.status === "processing");

  // The reference logs `capture.status, capture.result?.url`; the whole object is more useful
  // to a caller, so it goes to stdout as JSON and the short line to stderr.
  console.error(capture.status, capture.result?.url);
  process.stdout.write(JSON.stringify(capture) + "\n");
}

// exitCode rather than exit(): the output is flushed before the process ends.
main().then(
  () => {
    process.exitCode = 0;
  },
  (err) => {
    console.error(err instanceof UsageError ? "usage: " + err.message : String(err));
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
