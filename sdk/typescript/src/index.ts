/**
 * `sessionshot`: the client of SessionShot's HTTP API. No dependency beyond the platform's
 * `fetch` and WebCrypto (Node ≥ 18, Deno, browsers).
 *
 * ```ts
 * import { SessionShot } from "sessionshot";
 *
 * const client = new SessionShot({ baseUrl: "https://sessionshot.example.com", apiKey });
 * const capture = await client.captures.create({ url: "https://example.com" }).wait();
 * ```
 */
import { Captures } from "./captures.js";
import { Transport, type ClientOptions } from "./http.js";
import { Profiles, Schedules, Usage, Webhooks } from "./resources.js";
import { Sessions } from "./sessions.js";

/** The client: one resource per part of the API. */
export class SessionShot {
  /** One-shot captures (`/api/captures`). */
  readonly captures: Captures;
  /** Live browser sessions (`/v1/sessions`). */
  readonly sessions: Sessions;
  /** Billing reports (`/v1/usage`). */
  readonly usage: Usage;
  /** Webhook endpoints (`/api/webhooks`); `verifyWebhook` checks deliveries. */
  readonly webhooks: Webhooks;
  /** Saved login states (`/api/profiles`). */
  readonly profiles: Profiles;
  /** Scheduled captures (`/api/schedules`). */
  readonly schedules: Schedules;
  /** The service's base URL, without a trailing slash. */
  readonly baseUrl: string;

  constructor(options: ClientOptions = {}) {
    const http = new Transport(options);
    this.baseUrl = http.baseUrl;
    this.captures = new Captures(http);
    this.sessions = new Sessions(http);
    this.usage = new Usage(http);
    this.webhooks = new Webhooks(http);
    this.profiles = new Profiles(http);
    this.schedules = new Schedules(http);
  }
}

export default SessionShot;
export * from "./errors.js";
export * from "./types.js";
export {
  Captures,
  FINAL_CAPTURE_STATUSES,
  type CreateCapturePromise,
  type CreatedCapture,
  type GetCaptureOptions,
  type ListCapturesOptions,
  type WaitOptions,
} from "./captures.js";
export { BrowserSession, Sessions, type ListSessionsOptions } from "./sessions.js";
export { Profiles, Schedules, Usage, Webhooks, type UsageRange } from "./resources.js";
export {
  signWebhook,
  verifyWebhook,
  type HeadersLike,
  type VerifyOptions,
} from "./webhook-signature.js";
export type { CallOptions, ClientOptions, CreateOptions, RetryInfo } from "./http.js";
