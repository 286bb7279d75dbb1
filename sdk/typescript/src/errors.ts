import type { Session } from "./types.js";

/** What an error of the API carries besides its message. */
export interface ErrorInit {
  /** The API's code (`NOT_FOUND`, `SELECTOR_TIMEOUT` …), or the client's own. */
  code: string;
  /** The HTTP status; 0 when no answer came. */
  status: number;
  message: string;
  /** The parsed error body, as the API sent it. */
  body?: unknown;
  /** `/v1` errors about an existing session: the session as it now is. */
  session?: Session;
  expiresInSeconds?: number;
  /** `Retry-After` of a 429 / 503, in seconds. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * Any error of the API or of reaching it. `code` is the API's stable code; catch a subclass
 * (`NotFoundError`, `DomainNotAllowedError` …) or switch on `code`.
 */
export class SessionShotError extends Error {
  readonly code: string;
  readonly status: number;
  readonly body: unknown;
  readonly session: Session | undefined;
  readonly expiresInSeconds: number | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: ErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.status = init.status;
    this.body = init.body;
    this.session = init.session;
    this.expiresInSeconds = init.expiresInSeconds;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** 400 `VALIDATION_ERROR`: a malformed body or query, or a limit exceeded. */
export class ValidationError extends SessionShotError {}
/** 401 `UNAUTHENTICATED`: a missing, unknown or revoked API key. */
export class AuthenticationError extends SessionShotError {}
/** `DOMAIN_NOT_ALLOWED`: 403 before navigating, or 422 when the page left the allowed hosts. */
export class DomainNotAllowedError extends SessionShotError {}
/** 404 `NOT_FOUND`: no such resource, or one of another key. */
export class NotFoundError extends SessionShotError {}
/** 409: `CONFLICT`, `CONNECT_NOT_ENABLED` … */
export class ConflictError extends SessionShotError {}
/** 409 `IDEMPOTENCY_CONFLICT`: the Idempotency-Key was used with another body. */
export class IdempotencyConflictError extends ConflictError {}
/** 409 `SESSION_CLOSED`: `session` holds the final session. */
export class SessionClosedError extends ConflictError {}
/** 410 `LINK_EXPIRED`: a signed link past its expiry (get the capture again for a new one). */
export class LinkExpiredError extends SessionShotError {}
/** 403 `SIGNATURE_INVALID`: an altered signed link. */
export class SignatureInvalidError extends SessionShotError {}
/** 413 `PAYLOAD_TOO_LARGE`. */
export class PayloadTooLargeError extends SessionShotError {}
/** 429 `RATE_LIMITED`, once the client's retries are spent. */
export class RateLimitedError extends SessionShotError {}
/** 429 `CONCURRENCY_LIMIT`: too many active sessions in the workspace. */
export class ConcurrencyLimitError extends SessionShotError {}
/** 503 (`OWNER_UNAVAILABLE`, `CAPACITY`, an unready service), once retries are spent. */
export class ServiceUnavailableError extends SessionShotError {}
/** 500 `INTERNAL`. */
export class InternalError extends SessionShotError {}

/** 422: the action ran and failed. */
export class ActionFailedError extends SessionShotError {}
/** 422 `SELECTOR_TIMEOUT`. */
export class SelectorTimeoutError extends ActionFailedError {}
/** 422 `REF_NOT_FOUND`: a ref the latest `ai` snapshot did not give, or whose element is gone. */
export class RefNotFoundError extends ActionFailedError {}
/** 422 `NAVIGATION_TIMEOUT`. */
export class NavigationTimeoutError extends ActionFailedError {}
/** 422 `NAVIGATION_FAILED`. */
export class NavigationFailedError extends ActionFailedError {}
/** 422 `TARGET_BLOCKED`: the egress guard refused the target. */
export class TargetBlockedError extends ActionFailedError {}

/** No answer: the connection failed (status 0, code `CONNECTION_ERROR`). */
export class ConnectionError extends SessionShotError {}
/** A capture did not reach a final state within `wait()`'s `timeoutMs` (`WAIT_TIMEOUT`). */
export class WaitTimeoutError extends SessionShotError {}
/** A webhook whose signature, headers or timestamp do not verify (`WEBHOOK_INVALID`). */
export class WebhookVerificationError extends SessionShotError {}

type ErrorClass = new (init: ErrorInit) => SessionShotError;

const BY_CODE: Record<string, ErrorClass> = {
  VALIDATION_ERROR: ValidationError,
  UNAUTHENTICATED: AuthenticationError,
  DOMAIN_NOT_ALLOWED: DomainNotAllowedError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
  CONNECT_NOT_ENABLED: ConflictError,
  IDEMPOTENCY_CONFLICT: IdempotencyConflictError,
  SESSION_CLOSED: SessionClosedError,
  LINK_EXPIRED: LinkExpiredError,
  SIGNATURE_INVALID: SignatureInvalidError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  RATE_LIMITED: RateLimitedError,
  CONCURRENCY_LIMIT: ConcurrencyLimitError,
  OWNER_UNAVAILABLE: ServiceUnavailableError,
  CAPACITY: ServiceUnavailableError,
  INTERNAL: InternalError,
  SELECTOR_TIMEOUT: SelectorTimeoutError,
  REF_NOT_FOUND: RefNotFoundError,
  NAVIGATION_TIMEOUT: NavigationTimeoutError,
  NAVIGATION_FAILED: NavigationFailedError,
  TARGET_BLOCKED: TargetBlockedError,
  ACTION_FAILED: ActionFailedError,
  PAGE_CRASHED: ActionFailedError,
  RENDER_FAILED: ActionFailedError,
};

const BY_STATUS: Record<number, ErrorClass> = {
  400: ValidationError,
  401: AuthenticationError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  422: ActionFailedError,
  429: RateLimitedError,
  503: ServiceUnavailableError,
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The typed error of an error answer, read from either of the API's shapes:
 * `{"error": {"code", "message"}}` (`/api`, `/admin`) or `{"success": false, "error", "code"}`
 * (`/v1`).
 */
export function errorFromAnswer(
  status: number,
  body: unknown,
  retryAfterSeconds?: number,
): SessionShotError {
  let code = "";
  let message = "";
  let session: Session | undefined;
  let expiresInSeconds: number | undefined;
  if (isObject(body)) {
    const error = body.error;
    if (isObject(error)) {
      code = typeof error.code === "string" ? error.code : "";
      message = typeof error.message === "string" ? error.message : "";
    } else {
      code = typeof body.code === "string" ? body.code : "";
      message = typeof error === "string" ? error : "";
    }
    if (isObject(body.session)) session = body.session as unknown as Session;
    if (typeof body.expiresInSeconds === "number") expiresInSeconds = body.expiresInSeconds;
  }
  if (!code) code = status >= 500 ? "INTERNAL" : `HTTP_${status}`;
  if (!message) message = `HTTP ${status}`;
  const Class = BY_CODE[code] ?? BY_STATUS[status] ?? (status >= 500 ? InternalError : SessionShotError);
  return new Class({ code, status, message, body, session, expiresInSeconds, retryAfterSeconds });
}
