import { LinkExpiredError, SessionShotError, WaitTimeoutError } from "./errors.js";
import type { CallOptions, CreateOptions, Transport } from "./http.js";
import type {
  Capture,
  CaptureAccepted,
  CaptureBatch,
  CaptureBatchAccepted,
  CaptureList,
  CaptureRequest,
  CaptureStatus,
  ListedCapture,
} from "./types.js";

/** The statuses a capture ends in. */
export const FINAL_CAPTURE_STATUSES: readonly CaptureStatus[] = ["completed", "failed"];

/** Options of {@link Captures.wait}. */
export interface WaitOptions extends CallOptions {
  /** Give up (with `WaitTimeoutError`) after this long; default 300 000 ms. */
  timeoutMs?: number;
  /** Called with each state read while waiting. */
  onStatus?: (capture: Capture) => void;
}

/** Options of {@link Captures.get}. */
export interface GetCaptureOptions extends CallOptions {
  /** Long-poll: answer as soon as the capture is final, or after this many seconds (0–30). */
  wait?: number;
}

/** Options of {@link Captures.list}. */
export interface ListCapturesOptions extends CallOptions {
  status?: CaptureStatus;
  /** 1–100, default 20. */
  limit?: number;
  cursor?: string | null;
}

/** A capture just accepted, with a way to wait for its end. */
export interface CreatedCapture extends CaptureAccepted {
  /** Long-polls until the capture is `completed` or `failed`, and returns it. */
  wait(options?: WaitOptions): Promise<Capture>;
}

/** What `captures.create()` returns: a promise of the accepted capture that can also wait. */
export interface CreateCapturePromise extends Promise<CreatedCapture> {
  /** `client.captures.create(body).wait()`: the capture in its final state. */
  wait(options?: WaitOptions): Promise<Capture>;
}

const LONG_POLL_S = 30;

/** One-shot captures: `/api/captures` (SPEC §3, §13). */
export class Captures {
  constructor(private readonly http: Transport) {}

  /** Queues a capture (`POST /api/captures`), with an Idempotency-Key. */
  create(request: CaptureRequest, options: CreateOptions = {}): CreateCapturePromise {
    const accepted = this.http
      .json<CaptureAccepted>({
        method: "POST",
        path: "/api/captures",
        body: request,
        signal: options.signal,
        idempotent: true,
        idempotencyKey: options.idempotencyKey,
      })
      .then((data): CreatedCapture => {
        const created = { ...data } as CreatedCapture;
        Object.defineProperty(created, "wait", {
          value: (waitOptions?: WaitOptions) => this.wait(data.id, waitOptions),
          enumerable: false,
        });
        return created;
      });
    return Object.assign(accepted, {
      wait: (waitOptions?: WaitOptions) => accepted.then((created) => created.wait(waitOptions)),
    });
  }

  /** Reads a capture (`GET /api/captures/{id}`); `wait` long-polls up to 30 s. */
  get(id: string, options: GetCaptureOptions = {}): Promise<Capture> {
    return this.http.json<Capture>({
      method: "GET",
      path: `/api/captures/${encodeURIComponent(id)}`,
      query: { wait: options.wait },
      signal: options.signal,
    });
  }

  /** Waits until the capture is final (long-polling) and returns it, failed or completed. */
  async wait(id: string, options: WaitOptions = {}): Promise<Capture> {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    for (;;) {
      const remainingS = Math.ceil((deadline - Date.now()) / 1000);
      const capture = await this.get(id, {
        wait: Math.max(0, Math.min(LONG_POLL_S, remainingS)),
        signal: options.signal,
      });
      options.onStatus?.(capture);
      if (FINAL_CAPTURE_STATUSES.includes(capture.status)) return capture;
      if (Date.now() >= deadline) {
        throw new WaitTimeoutError({
          code: "WAIT_TIMEOUT",
          status: 0,
          message: `Capture ${id} is still ${capture.status} after ${options.timeoutMs ?? 300_000} ms`,
          body: capture,
        });
      }
    }
  }

  /** One page of this key's captures, newest first (`GET /api/captures`). */
  list(options: ListCapturesOptions = {}): Promise<CaptureList> {
    return this.http.json<CaptureList>({
      method: "GET",
      path: "/api/captures",
      query: { status: options.status, limit: options.limit, cursor: options.cursor },
      signal: options.signal,
    });
  }

  /** Every capture of this key, newest first, page after page. */
  async *iterate(options: Omit<ListCapturesOptions, "cursor"> = {}): AsyncGenerator<ListedCapture> {
    let cursor: string | null | undefined;
    do {
      const page = await this.list({ ...options, cursor });
      yield* page.captures;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Queues up to 100 captures at once (`POST /api/captures/batch`); refusals are per item. */
  batch(batch: CaptureBatch, options: CreateOptions = {}): Promise<CaptureBatchAccepted> {
    return this.http.json<CaptureBatchAccepted>({
      method: "POST",
      path: "/api/captures/batch",
      body: batch,
      signal: options.signal,
      idempotent: true,
      idempotencyKey: options.idempotencyKey,
    });
  }

  /**
   * The bytes of a completed capture's file, through its signed link (the link is the
   * credential: no API key is sent). Given an id, or a capture whose link expired, the
   * capture is read again for a fresh link.
   */
  async download(capture: Capture | string, options: CallOptions = {}): Promise<Uint8Array> {
    let current = typeof capture === "string" ? await this.get(capture, options) : capture;
    for (let attempt = 0; ; attempt++) {
      const link = current.result?.url;
      if (current.status !== "completed" || !link) {
        throw new SessionShotError({
          code: "NOT_COMPLETED",
          status: 0,
          message: `Capture ${current.id} is ${current.status}: it has no file to download`,
          body: current,
        });
      }
      try {
        return await this.http.fetchSigned(link, options.signal);
      } catch (err) {
        if (!(err instanceof LinkExpiredError) || attempt > 0) throw err;
        current = await this.get(current.id, options);
      }
    }
  }
}
