/**
 * WebCrypto from the platform: `globalThis.crypto` in browsers, Deno and Node ≥ 19, and
 * `node:crypto`'s `webcrypto` on Node 18, where the global needs a flag.
 */
let cached: Promise<Crypto> | undefined;

export function webCrypto(): Promise<Crypto> {
  cached ??= (async () => {
    const global = (globalThis as { crypto?: Crypto }).crypto;
    if (global?.subtle !== undefined) return global;
    const specifier = "node:crypto";
    const nodeCrypto = (await import(/* @vite-ignore */ specifier)) as { webcrypto: Crypto };
    return nodeCrypto.webcrypto;
  })();
  return cached;
}

/** A random UUID (for idempotency keys). */
export async function randomId(): Promise<string> {
  const crypto = await webCrypto();
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
