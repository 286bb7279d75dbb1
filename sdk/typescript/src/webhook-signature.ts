import { WebhookVerificationError } from "./errors.js";
import { webCrypto } from "./crypto.js";
import type { WebhookEvent } from "./types.js";

/** Options of {@link verifyWebhook}. */
export interface VerifyOptions {
  /** How far the `webhook-timestamp` may be from now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** "Now", in milliseconds since the epoch (default `Date.now()`). */
  now?: number;
}

/** Request headers: a `Headers` object or a plain record (names in any case). */
export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

const SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") {
    return (headers as Headers).get(name) ?? undefined;
  }
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(" ") : (value as string);
  }
  return undefined;
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function secretBytes(secret: string): Uint8Array {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  try {
    const bytes = base64ToBytes(raw);
    if (bytes.length > 0) return bytes;
  } catch {
    // not base64: refused below
  }
  throw invalid("The webhook secret is not a whsec_ base64 secret");
}

function invalid(message: string): WebhookVerificationError {
  return new WebhookVerificationError({ code: "WEBHOOK_INVALID", status: 0, message });
}

/** Compares two strings in time independent of where they differ. */
function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{payload}` with `secret`: the Standard
 * Webhooks signature.
 */
export async function signWebhook(
  secret: string,
  id: string,
  timestamp: number,
  payload: string | Uint8Array,
): Promise<string> {
  const crypto = await webCrypto();
  const key = await crypto.subtle.importKey(
    "raw",
    secretBytes(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const body = typeof payload === "string" ? encoder.encode(payload) : payload;
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const message = new Uint8Array(prefix.length + body.length);
  message.set(prefix);
  message.set(body, prefix.length);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  return `v1,${bytesToBase64(signature)}`;
}

/**
 * Verifies a webhook delivery as the Standard Webhooks specification says (the
 * `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, HMAC-SHA256 with the
 * endpoint's `whsec_` secret) and returns the parsed event. Pass the raw body exactly as
 * received. `secret` may be a list: while a rotated secret is still valid, either verifies.
 * Throws `WebhookVerificationError` when headers are missing, the timestamp is outside the
 * tolerance, or no signature matches.
 */
export async function verifyWebhook(
  payload: string | Uint8Array,
  headers: HeadersLike,
  secret: string | readonly string[],
  options: VerifyOptions = {},
): Promise<WebhookEvent> {
  const id = header(headers, "webhook-id");
  const timestampText = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestampText || !signatures) throw invalid("Missing required webhook headers");
  if (!/^\d+$/.test(timestampText)) throw invalid("Invalid webhook-timestamp");
  const timestamp = Number(timestampText);
  const nowS = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (timestamp < nowS - tolerance) throw invalid("Webhook timestamp too old");
  if (timestamp > nowS + tolerance) throw invalid("Webhook timestamp too new");
  const passed = signatures.split(" ").filter((part) => part.startsWith("v1,"));
  const secrets = typeof secret === "string" ? [secret] : secret;
  for (const candidate of secrets) {
    const expected = await signWebhook(candidate, id, timestamp, payload);
    if (passed.some((sig) => equalConstantTime(sig, expected))) {
      const text = typeof payload === "string" ? payload : new TextDecoder().decode(payload);
      return JSON.parse(text) as WebhookEvent;
    }
  }
  throw invalid("No matching webhook signature found");
}
