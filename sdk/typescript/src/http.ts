import { ConnectionError, errorFromAnswer, type SessionShotError } from "./errors.js";
import { randomId } from "./crypto.js";

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call, its retries and its waits. */
  signal?: AbortSignal;
}

/** Options of the calls that create something. */
export interface CreateOptions extends CallOptions {
  /**
   * Sent as `Idempotency-Key`: the same key with the same body within 24 h answers the first
   * response and creates nothing new. One is generated for each call when not given, so that
   * the client's own retries never create twice.
   */
  idempotencyKey?: string;
}

/** How the client reaches the service. */
export interface ClientOptions {
  /**
   * The service's base URL, such as `https://sessionshot.example.com`; on Node and Deno,
   * `SESSIONSHOT_URL` when not given.
   */
  baseUrl?: string;
  /** An API key of the workspace (`ssk_…`); on Node and Deno, `SESSIONSHOT_API_KEY` when not given. */
  apiKey?: string;
  /**
   * How many times a 429 or 503 answer is retried (default 2). A 503 is retried only when
   * the request is safe to repeat: reads, deletes, and creates (they carry an
   * Idempotency-Key); a session action is not repeated.
   */
  maxRetries?: number;
  /**
   * The longest wait before a retry, in milliseconds (default 30 000). An answer whose
   * `Retry-After` asks for longer is raised at once instead.
   */
  maxRetryDelayMs?: number;
  /** A `fetch` of your own (default: the platform's). */
  fetch?: typeof fetch;
  /** Headers added to every request. */
  headers?: Record<string, string>;
  /** Called before each retry (for logs or tests). */
  onRetry?: (info: RetryInfo) => void;
}

/** One retry about to happen. */
export interface RetryInfo {
  method: string;
  path: string;
  status: number;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
}

export interface RequestSpec {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  signal?: AbortSignal;
  /** Send an Idempotency-Key (the given one, or a fresh one). */
  idempotent?: boolean;
  idempotencyKey?: string;
}

const DEFAULT_BACKOFF_MS = 500;

/** An environment variable on Node or Deno; undefined in browsers (or without permission). */
function envVar(name: string): string | undefined {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    Deno?: { env: { get(key: string): string | undefined } };
  };
  try {
    return g.process?.env?.[name] ?? g.Deno?.env.get(name);
  } catch {
    return undefined;
  }
}

/** Seconds of a `Retry-After` header (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The HTTP layer: authentication, JSON, typed errors, retries on 429 / 503. */
export class Transport {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly maxRetries: number;
  private readonly maxRetryDelayMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly headers: Record<string, string>;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;

  constructor(options: ClientOptions = {}) {
    const baseUrl = options.baseUrl ?? envVar("SESSIONSHOT_URL");
    const apiKey = options.apiKey ?? envVar("SESSIONSHOT_API_KEY");
    if (typeof baseUrl !== "string" || baseUrl === "") {
      throw new TypeError("SessionShot: baseUrl is required (or SESSIONSHOT_URL)");
    }
    if (typeof apiKey !== "string" || apiKey === "") {
      throw new TypeError("SessionShot: apiKey is required (or SESSIONSHOT_API_KEY)");
    }
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.apiKey = apiKey;
    this.maxRetries = options.maxRetries ?? 2;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    const platformFetch = globalThis.fetch;
    this.fetchImpl = options.fetch ?? ((input, init) => platformFetch(input, init));
    this.headers = { ...options.headers };
    this.onRetry = options.onRetry;
  }

  /** The absolute URL of `path` with `query`. */
  url(path: string, query?: RequestSpec["query"]): string {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** The parsed JSON answer of a 2xx, or the typed error of anything else. */
  async json<T>(spec: RequestSpec): Promise<T> {
    const response = await this.send(spec);
    const text = await response.text();
    if (text === "") return undefined as T;
    return JSON.parse(text) as T;
  }

  /** The text answer of a 2xx (CSV reports). */
  async text(spec: RequestSpec): Promise<string> {
    return (await this.send(spec)).text();
  }

  /** Sends the request, retrying 429 and (when safe) 503; a non-2xx answer throws. */
  async send(spec: RequestSpec): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      ...this.headers,
      Authorization: `Bearer ${this.apiKey}`,
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(spec.body);
    }
    if (spec.idempotencyKey !== undefined || spec.idempotent) {
      headers["Idempotency-Key"] = spec.idempotencyKey ?? (await randomId());
    }
    const repeatable =
      spec.method === "GET" || spec.method === "DELETE" || headers["Idempotency-Key"] !== undefined;
    const url = this.url(spec.path, spec.query);
    for (let attempt = 0; ; attempt++) {
      spec.signal?.throwIfAborted();
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method: spec.method,
          headers,
          body,
          signal: spec.signal,
        });
      } catch (err) {
        if (spec.signal?.aborted) throw spec.signal.reason;
        throw new ConnectionError({
          code: "CONNECTION_ERROR",
          status: 0,
          message: `Could not reach ${this.baseUrl}: ${String(err)}`,
          cause: err,
        });
      }
      if (response.ok) return response;
      const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
      const error = errorFromAnswer(response.status, await readBody(response), retryAfter);
      const delayMs = this.retryDelay(error, repeatable, attempt, retryAfter);
      if (delayMs === undefined) throw error;
      this.onRetry?.({
        method: spec.method,
        path: spec.path,
        status: response.status,
        attempt: attempt + 1,
        delayMs,
      });
      await sleep(delayMs, spec.signal);
    }
  }

  /**
   * The bytes behind a signed link. The link is the credential: no API key is sent (a
   * storage service's presigned link would refuse one).
   */
  async fetchSigned(link: string, signal?: AbortSignal): Promise<Uint8Array> {
    let response: Response;
    try {
      response = await this.fetchImpl(link, { method: "GET", signal });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new ConnectionError({
        code: "CONNECTION_ERROR",
        status: 0,
        message: `Could not fetch the signed link: ${String(err)}`,
        cause: err,
      });
    }
    if (!response.ok) throw errorFromAnswer(response.status, await readBody(response));
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * How long to wait before retrying, or undefined to throw: a 429 of the rate limit (not
   * `CONCURRENCY_LIMIT`, which waits for a session to close), or a 503 when repeating is safe.
   */
  private retryDelay(
    error: SessionShotError,
    repeatable: boolean,
    attempt: number,
    retryAfter: number | undefined,
  ): number | undefined {
    const rateLimited =
      error.status === 429 && (error.code === "RATE_LIMITED" || retryAfter !== undefined);
    const retryable = rateLimited || (error.status === 503 && repeatable);
    if (!retryable || attempt >= this.maxRetries) return undefined;
    const delayMs =
      retryAfter !== undefined ? retryAfter * 1000 : DEFAULT_BACKOFF_MS * 2 ** attempt;
    return delayMs > this.maxRetryDelayMs ? undefined : delayMs;
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

