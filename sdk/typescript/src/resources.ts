import type { CallOptions, CreateOptions, Transport } from "./http.js";
import type {
  EndpointRequest,
  Profile,
  ProfileList,
  Schedule,
  ScheduleRequest,
  ScheduleDetail,
  ScheduleList,
  SchedulePatch,
  WebhookDeliveries,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookList,
  WebhookWithSecret,
  WorkspaceUsage,
} from "./types.js";

/** A report's range: ISO dates or date-times (UTC), `to` exclusive, at most 366 days. */
export interface UsageRange extends CallOptions {
  from: string | Date;
  to: string | Date;
}

const iso = (value: string | Date): string =>
  value instanceof Date ? value.toISOString() : value;

/** Billing reports of the workspace: `/v1/usage` (SPEC §6). */
export class Usage {
  constructor(private readonly http: Transport) {}

  /** Totals, per day and per key, of the sessions closed in the range. */
  get(range: UsageRange): Promise<WorkspaceUsage> {
    return this.http.json<WorkspaceUsage>({
      method: "GET",
      path: "/v1/usage",
      query: { from: iso(range.from), to: iso(range.to) },
      signal: range.signal,
    });
  }

  /** The same report as CSV: one row per closed session. */
  csv(range: UsageRange): Promise<string> {
    return this.http.text({
      method: "GET",
      path: "/v1/usage",
      query: { from: iso(range.from), to: iso(range.to), format: "csv" },
      signal: range.signal,
    });
  }
}

const webhookPath = (id: string, rest = ""): string =>
  `/api/webhooks/${encodeURIComponent(id)}${rest}`;

/** Webhook endpoints of the workspace: `/api/webhooks` (SPEC §13). */
export class Webhooks {
  constructor(private readonly http: Transport) {}

  /** Adds an endpoint; its signing `secret` is in this answer only. */
  create(request: EndpointRequest, options: CreateOptions = {}): Promise<WebhookWithSecret> {
    return this.http.json<WebhookWithSecret>({
      method: "POST",
      path: "/api/webhooks",
      body: request,
      signal: options.signal,
      idempotencyKey: options.idempotencyKey,
    });
  }

  list(options: CallOptions = {}): Promise<WebhookList> {
    return this.http.json<WebhookList>({
      method: "GET",
      path: "/api/webhooks",
      signal: options.signal,
    });
  }

  /** Deletes an endpoint; deliveries still pending to it are dropped. */
  delete(id: string, options: CallOptions = {}): Promise<WebhookEndpoint> {
    return this.http.json<WebhookEndpoint>({
      method: "DELETE",
      path: webhookPath(id),
      signal: options.signal,
    });
  }

  /** A new secret; the old one still signs for 24 h (both signatures are sent). */
  rotate(id: string, options: CallOptions = {}): Promise<WebhookWithSecret> {
    return this.http.json<WebhookWithSecret>({
      method: "POST",
      path: webhookPath(id, "/rotate"),
      signal: options.signal,
    });
  }

  /** The endpoint's last 100 deliveries. */
  deliveries(id: string, options: CallOptions = {}): Promise<WebhookDeliveries> {
    return this.http.json<WebhookDeliveries>({
      method: "GET",
      path: webhookPath(id, "/deliveries"),
      signal: options.signal,
    });
  }

  /** Sends a `webhook.test` event to the endpoint. */
  test(id: string, options: CallOptions = {}): Promise<WebhookDelivery> {
    return this.http.json<WebhookDelivery>({
      method: "POST",
      path: webhookPath(id, "/test"),
      signal: options.signal,
    });
  }
}

const profilePath = (id: string): string => `/api/profiles/${encodeURIComponent(id)}`;

/**
 * Saved login states of the workspace: `/api/profiles` (SPEC §16). A profile is made from a
 * session with `session.saveProfile({ name })` and used as `auth: { profile: id }`.
 */
export class Profiles {
  constructor(private readonly http: Transport) {}

  list(options: CallOptions = {}): Promise<ProfileList> {
    return this.http.json<ProfileList>({
      method: "GET",
      path: "/api/profiles",
      signal: options.signal,
    });
  }

  get(id: string, options: CallOptions = {}): Promise<Profile> {
    return this.http.json<Profile>({ method: "GET", path: profilePath(id), signal: options.signal });
  }

  /** Deletes the profile (its sealed state is erased) and returns it. */
  delete(id: string, options: CallOptions = {}): Promise<Profile> {
    return this.http.json<Profile>({
      method: "DELETE",
      path: profilePath(id),
      signal: options.signal,
    });
  }
}

const schedulePath = (id: string): string => `/api/schedules/${encodeURIComponent(id)}`;

/** Scheduled captures of the workspace: `/api/schedules` (SPEC §16). */
export class Schedules {
  constructor(private readonly http: Transport) {}

  create(request: ScheduleRequest, options: CreateOptions = {}): Promise<Schedule> {
    return this.http.json<Schedule>({
      method: "POST",
      path: "/api/schedules",
      body: request,
      signal: options.signal,
      idempotent: true,
      idempotencyKey: options.idempotencyKey,
    });
  }

  list(options: CallOptions = {}): Promise<ScheduleList> {
    return this.http.json<ScheduleList>({
      method: "GET",
      path: "/api/schedules",
      signal: options.signal,
    });
  }

  /** The schedule with its last 20 captures. */
  get(id: string, options: CallOptions = {}): Promise<ScheduleDetail> {
    return this.http.json<ScheduleDetail>({
      method: "GET",
      path: schedulePath(id),
      signal: options.signal,
    });
  }

  /** Pauses or resumes it, or changes its cron, timezone or name. */
  update(id: string, patch: SchedulePatch, options: CallOptions = {}): Promise<Schedule> {
    return this.http.json<Schedule>({
      method: "PATCH",
      path: schedulePath(id),
      body: patch,
      signal: options.signal,
    });
  }

  /** Deletes the schedule and returns it; captures it made stay. */
  delete(id: string, options: CallOptions = {}): Promise<Schedule> {
    return this.http.json<Schedule>({
      method: "DELETE",
      path: schedulePath(id),
      signal: options.signal,
    });
  }
}
