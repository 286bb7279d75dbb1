/**
 * The shapes of SessionShot's HTTP API, named as the service's `/openapi.json` names its
 * components, with the field names of the API. The test suite compares these declarations
 * with the document of a running service, so a field the API adds fails a test until it is
 * declared here.
 */

/** An ISO 8601 date-time in UTC, as the API writes it (`2026-07-02T10:15:00.000Z`). */
export type Timestamp = string;

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object of the caller's own (`metadata`). */
export type JsonObject = { [key: string]: Json };

// ---------------------------------------------------------------------------------------
// Errors (SPEC §3, §4)

/** `{code, message}`: the error of a failed capture, a refused batch item, an `/api` error. */
export interface ErrorDetail {
  code: string;
  message: string;
}

/** A failed capture's error: a safe code and a message without internals. */
export interface CaptureError extends ErrorDetail {
  code: CaptureErrorCode | (string & {});
}

/** The error body of `/api/*` and `/admin/*`. */
export interface ErrorResponse {
  error: ErrorDetail;
}

/** The error body of `/v1/*`. */
export interface V1Error {
  success: false;
  error: string;
  code: string;
  expiresInSeconds?: number;
  session?: SessionObject;
}

export type CaptureErrorCode =
  | "NAVIGATION_TIMEOUT"
  | "NAVIGATION_FAILED"
  | "SELECTOR_TIMEOUT"
  | "ACTION_FAILED"
  | "DOMAIN_NOT_ALLOWED"
  | "TARGET_BLOCKED"
  | "RENDER_FAILED"
  | "CAPTURE_TIMEOUT"
  | "PAGE_CRASHED"
  | "INTERNAL";

// ---------------------------------------------------------------------------------------
// Auth state, redaction, output (SPEC §3, §13, §16)

/** A cookie put in place before the first navigation. */
export interface Cookie {
  name: string;
  value: string;
  domain: string;
  path?: string;
  /** Unix time in seconds. */
  expires?: number | null;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: "Strict" | "Lax" | "None" | null;
}

/** A localStorage entry set for the target origin before the page's scripts run. */
export interface StorageEntry {
  key: string;
  value: string;
}

/** Logged-in state: cookies, localStorage, extra headers, or a saved profile. */
export interface AuthState {
  /** At most 50. */
  cookies?: Cookie[];
  /** At most 50. */
  localStorage?: StorageEntry[];
  /** At most 20; sensitive names (authorization, cookie, …) are refused. */
  headers?: Record<string, string>;
  /** A profile (`prof_…`) whose state is put in place first (SPEC §16). */
  profile?: string;
}

/** Parts of the page masked before the render. */
export interface Redaction {
  /** At most 50 CSS selectors. */
  selectors?: string[];
  mode?: "block" | "blur";
}

export type ImageFormat = "png" | "jpeg" | "webp";
export type OutputFormat = ImageFormat | "pdf";

/** A rectangle in CSS pixels. */
export interface Clip {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** PDF margins: CSS lengths, such as `"1cm"`. */
export interface PdfMargin {
  top?: string;
  right?: string;
  bottom?: string;
  left?: string;
}

/** PDF page options (`output.pdf`, and the `pdf` action's payload). */
export interface PdfOptions {
  format?: "A4" | "A3" | "A5" | "Letter" | "Legal" | "Tabloid";
  landscape?: boolean;
  printBackground?: boolean;
  /** 0.1–2. */
  scale?: number;
  margin?: PdfMargin | null;
  pageRanges?: string;
}

/** What a capture renders. */
export interface Output {
  format?: OutputFormat;
  fullPage?: boolean;
  /** 320–3840, default 1280. */
  width?: number;
  /** 240–4320, default 800. */
  height?: number;
  /** 1–100, only with `jpeg` or `webp`. */
  quality?: number | null;
  /** 1–3, default 1. */
  deviceScaleFactor?: number;
  /** Capture one element (its box). */
  selector?: string;
  clip?: Clip;
  /** PNG and WebP only. */
  omitBackground?: boolean;
  /** Only with `pdf`. */
  pdf?: PdfOptions;
}

/** Page options of a capture (SPEC §13). */
export interface PageOptions {
  waitUntil?: "load" | "domcontentloaded" | "networkidle";
  /** ≤ 10 000, after actions, before redaction. */
  delayMs?: number;
  colorScheme?: "light" | "dark";
  reducedMotion?: boolean;
  timezoneId?: string;
  locale?: string;
  userAgent?: string;
  /** ≤ 10 000 characters of CSS added before the render. */
  css?: string;
  /** ≤ 50 selectors hidden before the render. */
  hideSelectors?: string[];
  blockResources?: Array<"image" | "media" | "font" | "stylesheet">;
}

// ---------------------------------------------------------------------------------------
// Captures (SPEC §3, §13)

export interface WaitForSelectorStep {
  type: "waitForSelector";
  selector: string;
  /** ≤ 15 000 ms. */
  timeout?: number;
}
export interface ClickStep {
  type: "click";
  selector: string;
}
export interface TypeStep {
  type: "type";
  selector: string;
  /** ≤ 1000 characters. */
  text: string;
}
export interface ScrollStep {
  type: "scroll";
  /** ≤ 50 000. */
  y: number;
}
export interface WaitStep {
  type: "wait";
  /** ≤ 10 000. */
  ms: number;
}

/** One step of a capture's `actions` (at most 20, run in order). */
export type CaptureStep = WaitForSelectorStep | ClickStep | TypeStep | ScrollStep | WaitStep;

/** The body of `POST /api/captures`. */
export interface CaptureRequest {
  /** `https:` only. */
  url: string;
  output?: Output;
  auth?: AuthState | null;
  actions?: CaptureStep[];
  redaction?: Redaction | null;
  page?: PageOptions;
  /** ≤ 1024 bytes as compact JSON; echoed back. */
  metadata?: JsonObject | null;
}

export type CaptureStatus = "queued" | "processing" | "completed" | "failed";

/** `POST /api/captures` → 202. */
export interface CaptureAccepted {
  id: string;
  status: CaptureStatus;
  createdAt: Timestamp;
  statusUrl: string;
  metadata?: JsonObject;
}

/** The rendered file of a completed capture. */
export interface CaptureFile {
  /** Absolute signed link, minted afresh on every GET. */
  url: string;
  expiresAt: Timestamp;
  format: OutputFormat;
  bytes: number;
  width: number;
  height: number;
  /** PDF only. */
  pages?: number;
}

/** A capture as `GET /api/captures/{id}` answers it. */
export interface Capture {
  id: string;
  status: CaptureStatus;
  createdAt: Timestamp;
  updatedAt?: Timestamp;
  completedAt?: Timestamp;
  statusUrl?: string;
  sessionId?: string;
  result?: CaptureFile;
  error?: CaptureError;
  metadata?: JsonObject;
}

/** A listed capture's file: no signed link in lists. */
export type ListedCaptureFile = Omit<CaptureFile, "url" | "expiresAt">;

/** A capture in a list (`result` without `url`). */
export interface ListedCapture extends Omit<Capture, "result"> {
  result?: ListedCaptureFile;
}

/** `GET /api/captures`: newest first. */
export interface CaptureList {
  captures: ListedCapture[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** `POST /api/captures/batch`. */
export interface CaptureBatch {
  /** Part of a capture body that every item is deep-merged over. */
  defaults?: Partial<CaptureRequest> | null;
  /** At most 100 (each merged over `defaults` and validated alone). */
  captures: Array<Partial<CaptureRequest>>;
}

export interface BatchItemQueued {
  id: string;
  status: "queued";
}
export interface BatchItemRefused {
  error: ErrorDetail;
}

/** `POST /api/captures/batch` → 202, one item per capture, in order. */
export interface CaptureBatchAccepted {
  captures: Array<BatchItemQueued | BatchItemRefused>;
}

// ---------------------------------------------------------------------------------------
// Sessions (SPEC §4, §12, §16)

export interface Viewport {
  width: number;
  height: number;
}

/** The body of `POST /v1/sessions` (every field optional). */
export interface SessionOptions {
  /** 10 – the service's `SESSIONSHOT_SESSION_MAX_TTL`, default 300. */
  maxTtlSeconds?: number;
  idleTimeoutSeconds?: number | null;
  proxy?: boolean;
  bypassBotDetection?: boolean;
  viewport?: Viewport | null;
  userAgent?: string | null;
  locale?: string | null;
  timezoneId?: string | null;
  auth?: AuthState | null;
  metadata?: JsonObject | null;
  /** Run in a browser of its own, drivable over CDP at `connectUrl` (SPEC §12). */
  connect?: boolean;
  /** With `auth.profile`: write the state back to the profile at close (SPEC §16). */
  persistProfile?: boolean;
}

/** The options a session was made with, as the session object shows them. */
export interface SessionOptionsView {
  maxTtlSeconds: number;
  idleTimeoutSeconds: number | null;
  proxy: boolean;
  bypassBotDetection: boolean;
  connect?: boolean;
}

/** Counters of one action type. */
export interface ActionTally {
  total: number;
  success: number;
  error: number;
}

export type SessionStatus = "active" | "closed";
export type CloseReason =
  | "closed"
  | "expired"
  | "idle_timeout"
  | "browser_crashed"
  | "instance_lost"
  | "shutdown";

/** A session object, as the API stores it. */
export interface SessionObject {
  id: string;
  status: SessionStatus;
  closeReason: CloseReason | null;
  createdAt: Timestamp;
  startedAt: Timestamp;
  expiresAt: Timestamp;
  closedAt: Timestamp | null;
  durationSeconds: number;
  billedCredits: number;
  actionCount: number;
  actionSuccessCount: number;
  actionErrorCount: number;
  actionBreakdown: Record<string, ActionTally>;
  options: SessionOptionsView;
  kind?: "live" | "capture";
  currentUrl?: string | null;
  /** A capture session: the capture it ran. */
  captureId?: string;
  /** A connect session: its CDP WebSocket endpoint. */
  connectUrl?: string;
  metadata?: JsonObject;
}

/** A session object with the whole seconds it has left (0 once closed). */
export interface Session extends SessionObject {
  expiresInSeconds: number;
}

/** `GET /v1/sessions`. */
export interface SessionList {
  sessions: Session[];
  nextCursor?: string | null;
}

/** `POST /v1/sessions/{id}/live`. */
export interface LiveRequest {
  mode: "view" | "interact";
  /** 60–3600, default 600. */
  ttlSeconds?: number;
}

/** A live-view link: the link is the credential. */
export interface LiveLink {
  url: string;
  mode: "view" | "interact";
  expiresAt: Timestamp;
}

/** `POST /v1/sessions/{id}/tokens`. */
export interface TokenRequest {
  scope: "cdp" | "live-view" | "live-interact";
  /** 60–3600, default 600. */
  ttlSeconds?: number;
}

/** A short-lived credential for one session and one scope. */
export interface ScopedToken {
  token: string;
  scope: "cdp" | "live-view" | "live-interact";
  expiresAt: Timestamp;
}

// ---------------------------------------------------------------------------------------
// Actions (SPEC §4, §11, §13)

/** Either `selector` or `ref` (a ref of the session's latest `ai` snapshot), not both. */
export type Target =
  | { selector: string; ref?: null }
  | { ref: string; selector?: null };

export type WaitUntil = "load" | "domcontentloaded" | "networkidle" | "commit";

export interface GotoPayload {
  /** https; the host must be allowed. */
  url: string;
  waitUntil?: WaitUntil;
  timeout?: number;
}
export interface TargetFields {
  selector?: string | null;
  ref?: string | null;
}
export interface ClickPayload extends TargetFields {
  button?: "left" | "right" | "middle";
  clickCount?: number;
  timeout?: number;
}
export interface HoverPayload extends TargetFields {
  timeout?: number;
}
export interface TypePayload extends TargetFields {
  /** ≤ 1000 characters. */
  text: string;
  delayMs?: number;
  timeout?: number;
}
export interface FillPayload extends TargetFields {
  value: string;
  timeout?: number;
}
export interface PressPayload extends TargetFields {
  key: string;
  timeout?: number;
}
export interface SelectPayload extends TargetFields {
  values: string[];
  timeout?: number;
}
export interface ScrollPayload extends TargetFields {
  y?: number | null;
  x?: number;
  timeout?: number;
}
export interface WaitForSelectorPayload extends TargetFields {
  state?: "attached" | "detached" | "visible" | "hidden";
  /** ≤ 15 000. */
  timeout?: number;
}
export interface WaitPayload {
  /** ≤ 10 000. */
  ms: number;
}
export type QueryPayload = TargetFields;
export interface HistoryPayload {
  waitUntil?: WaitUntil;
  timeout?: number;
}
export interface ContentPayload extends TargetFields {
  format?: "html" | "text" | "markdown";
}
export interface SnapshotPayload {
  mode?: "default" | "ai";
  selector?: string | null;
  /** 1–50. */
  depth?: number | null;
  /** 1 000 – 200 000, default 40 000. */
  maxChars?: number;
}
export interface EvaluatePayload {
  /** ≤ 10 000 characters. */
  expression: string;
}
export interface ScreenshotPayload extends TargetFields {
  format?: ImageFormat;
  fullPage?: boolean;
  quality?: number | null;
  deviceScaleFactor?: number;
  clip?: Clip;
  omitBackground?: boolean;
  redaction?: Redaction | null;
  /** Answer with the bytes in base64 (`result.data`) instead of a signed link. */
  inline?: boolean;
}
export interface PdfPayload extends PdfOptions {
  redaction?: Redaction | null;
  inline?: boolean;
}

/** The payload type of each action type. */
export interface ActionPayloads {
  goto: GotoPayload;
  click: ClickPayload;
  hover: HoverPayload;
  type: TypePayload;
  fill: FillPayload;
  press: PressPayload;
  select: SelectPayload;
  scroll: ScrollPayload;
  waitForSelector: WaitForSelectorPayload;
  wait: WaitPayload;
  query: QueryPayload;
  back: HistoryPayload;
  forward: HistoryPayload;
  reload: HistoryPayload;
  content: ContentPayload;
  snapshot: SnapshotPayload;
  evaluate: EvaluatePayload;
  screenshot: ScreenshotPayload;
  pdf: PdfPayload;
}

export type ActionType = keyof ActionPayloads;

/** `POST /v1/sessions/{id}/actions` for one action type. */
export interface ActionOf<T extends ActionType> {
  type: T;
  payload: ActionPayloads[T];
}
export interface GotoAction extends ActionOf<"goto"> {}
export interface ClickAction extends ActionOf<"click"> {}
export interface HoverAction extends ActionOf<"hover"> {}
export interface TypeAction extends ActionOf<"type"> {}
export interface FillAction extends ActionOf<"fill"> {}
export interface PressAction extends ActionOf<"press"> {}
export interface SelectAction extends ActionOf<"select"> {}
export interface ScrollAction extends ActionOf<"scroll"> {}
export interface WaitForSelectorAction extends ActionOf<"waitForSelector"> {}
export interface WaitAction extends ActionOf<"wait"> {}
export interface QueryAction extends ActionOf<"query"> {}
export interface BackAction extends ActionOf<"back"> {}
export interface ForwardAction extends ActionOf<"forward"> {}
export interface ReloadAction extends ActionOf<"reload"> {}
export interface ContentAction extends ActionOf<"content"> {}
export interface SnapshotAction extends ActionOf<"snapshot"> {}
export interface EvaluateAction extends ActionOf<"evaluate"> {}
export interface ScreenshotAction extends ActionOf<"screenshot"> {}
export interface PdfAction extends ActionOf<"pdf"> {}

/** Any action request. */
export type ActionRequest = { [T in ActionType]: ActionOf<T> }[ActionType];

export interface Point {
  x: number;
  y: number;
}
export interface BoundingBox extends Point {
  width: number;
  height: number;
}

/** A stored render of the `screenshot` / `pdf` actions (or its bytes with `inline`). */
export interface RenderedFile {
  format: OutputFormat;
  bytes: number;
  width: number;
  height: number;
  pages?: number;
  /** Signed link (not with `inline`). */
  url?: string;
  expiresAt?: Timestamp;
  /** Base64 bytes (with `inline`). */
  data?: string;
}

/**
 * The answer of any successful action. Which fields are present depends on the action:
 * the typed methods of {@link BrowserSession} narrow it.
 */
export interface ActionResult {
  success: true;
  expiresInSeconds: number;
  /** The page's URL after the action. */
  url?: string;
  // element info
  matched?: boolean;
  visible?: boolean;
  elementText?: string | null;
  tagName?: string | null;
  attributes?: Record<string, string>;
  boundingBox?: BoundingBox | null;
  clickedPoint?: Point;
  hoveredPoint?: Point;
  selected?: string[];
  // goto
  status?: number;
  // scroll
  scrollX?: number;
  scrollY?: number;
  // content, snapshot
  content?: string;
  truncated?: boolean;
  snapshot?: string;
  refCount?: number;
  // evaluate: the value; screenshot / pdf: the file
  result?: unknown;
}

/** Element info of the actions that find an element. */
export interface ElementInfo extends ActionResult {
  matched: boolean;
  visible: boolean;
  elementText: string | null;
  tagName: string | null;
  attributes: Record<string, string>;
  boundingBox: BoundingBox | null;
}
export interface GotoResult extends ActionResult {
  status: number;
}
export interface ClickResult extends ElementInfo {
  clickedPoint: Point;
}
export interface HoverResult extends ElementInfo {
  hoveredPoint: Point;
}
export interface SelectResult extends ElementInfo {
  selected: string[];
}
export interface ScrollResult extends ActionResult {
  scrollX: number;
  scrollY: number;
}
export interface ContentResult extends ActionResult {
  content: string;
  truncated?: boolean;
}
export interface SnapshotResult extends ActionResult {
  snapshot: string;
  truncated?: boolean;
  refCount?: number;
}
export interface EvaluateResult<T = Json> extends ActionResult {
  result: T;
}
export interface RenderResult extends ActionResult {
  result: RenderedFile;
}

/** The result type of each action type. */
export interface ActionResults {
  goto: GotoResult;
  click: ClickResult;
  hover: HoverResult;
  type: ElementInfo;
  fill: ElementInfo;
  press: ActionResult;
  select: SelectResult;
  scroll: ScrollResult;
  waitForSelector: ElementInfo;
  wait: ActionResult;
  query: ActionResult & Partial<ElementInfo>;
  back: ActionResult;
  forward: ActionResult;
  reload: ActionResult;
  content: ContentResult;
  snapshot: SnapshotResult;
  evaluate: EvaluateResult;
  screenshot: RenderResult;
  pdf: RenderResult;
}

// ---------------------------------------------------------------------------------------
// Usage (SPEC §6)

export interface Counters {
  sessions: number;
  captures: number;
  durationSeconds: number;
  credits: number;
}
export interface DayUsage extends Counters {
  /** `YYYY-MM-DD`. */
  date: string;
}
export interface KeyUsage extends Counters {
  keyId: string;
}

/** `GET /v1/usage`: the workspace's billing report. */
export interface WorkspaceUsage {
  workspaceId: string;
  from: Timestamp;
  to: Timestamp;
  totals: Counters;
  daily: DayUsage[];
  byKey: KeyUsage[];
}

// ---------------------------------------------------------------------------------------
// Webhooks (SPEC §13)

export type WebhookEventType = "capture.completed" | "capture.failed" | "session.closed";

/** `POST /api/webhooks`. */
export interface EndpointRequest {
  /** https. */
  url: string;
  events: WebhookEventType[];
}

/** A webhook endpoint of the workspace. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEventType[];
  createdAt: Timestamp;
}

/** The endpoint with its signing secret: only on creation and rotation. */
export interface WebhookWithSecret extends WebhookEndpoint {
  /** `whsec_…`. */
  secret: string;
}

export interface WebhookList {
  webhooks: WebhookEndpoint[];
}

export interface WebhookDelivery {
  /** `msg_…`: the `webhook-id` of every attempt. */
  id: string;
  event: WebhookEventType | "webhook.test";
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  lastStatusCode: number | null;
  nextAttemptAt: Timestamp | null;
}

export interface WebhookDeliveries {
  /** The last 100. */
  deliveries: WebhookDelivery[];
}

/** A delivered event, as {@link verifyWebhook} returns it. */
export type WebhookEvent =
  | { type: "capture.completed" | "capture.failed"; timestamp: Timestamp; data: Capture }
  | { type: "session.closed"; timestamp: Timestamp; data: Session }
  | { type: "webhook.test"; timestamp: Timestamp; data: { [key: string]: Json } };

// ---------------------------------------------------------------------------------------
// Profiles (SPEC §16)

/** `POST /v1/sessions/{id}/profile`. */
export interface ProfileRequest {
  name: string;
}

/** A saved login state (the state itself is sealed and never returned). */
export interface Profile {
  /** `prof_…`. */
  id: string;
  name: string;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  cookieCount: number;
  /** The origins with localStorage. */
  origins: string[];
  /** Cookie domains. */
  domains: string[];
}

export interface ProfileList {
  profiles: Profile[];
}

// ---------------------------------------------------------------------------------------
// Schedules (SPEC §16)

/** `POST /api/schedules`. */
export interface ScheduleRequest {
  name: string;
  /** Five fields. */
  cron: string;
  /** IANA, default UTC. */
  timezone?: string;
  capture: CaptureRequest;
  paused?: boolean;
}

/** `PATCH /api/schedules/{id}`. */
export interface SchedulePatch {
  paused?: boolean | null;
  cron?: string | null;
  timezone?: string | null;
  name?: string | null;
}

/** A scheduled capture. */
export interface Schedule {
  /** `sch_…`. */
  id: string;
  name: string;
  cron: string;
  timezone: string;
  nextRunAt: Timestamp | null;
  paused: boolean;
  /** Why it paused itself (a revoked key, a host no longer allowed); null otherwise. */
  pausedReason: string | null;
  /** The key that made it: its captures belong to that key. */
  keyId: string;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  lastRunAt: Timestamp | null;
}

/** A capture a schedule made. */
export interface ScheduleRun {
  id: string;
  status: CaptureStatus;
  createdAt: Timestamp;
}

/** `GET /api/schedules/{id}`: with its last 20 captures. */
export interface ScheduleDetail extends Schedule {
  recentCaptures: ScheduleRun[];
}

export interface ScheduleList {
  schedules: Schedule[];
}
