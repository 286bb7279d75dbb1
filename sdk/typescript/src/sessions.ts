import type { CallOptions, CreateOptions, Transport } from "./http.js";
import type {
  ActionPayloads,
  ActionResults,
  ActionType,
  ClickPayload,
  ContentPayload,
  EvaluatePayload,
  EvaluateResult,
  FillPayload,
  GotoPayload,
  HistoryPayload,
  HoverPayload,
  Json,
  LiveLink,
  LiveRequest,
  PdfPayload,
  PressPayload,
  Profile,
  ProfileRequest,
  QueryPayload,
  ScopedToken,
  ScreenshotPayload,
  ScrollPayload,
  SelectPayload,
  Session,
  SessionList,
  SessionOptions,
  SessionStatus,
  SnapshotPayload,
  TokenRequest,
  TypePayload,
  WaitForSelectorPayload,
  WaitPayload,
} from "./types.js";

/** Options of {@link Sessions.list}. */
export interface ListSessionsOptions extends CallOptions {
  status?: SessionStatus;
  /** 1–100, default 20. */
  limit?: number;
  cursor?: string | null;
}

const path = (id: string, rest = ""): string => `/v1/sessions/${encodeURIComponent(id)}${rest}`;

/** Live browser sessions: `/v1/sessions` (SPEC §4, §11, §12, §16). */
export class Sessions {
  constructor(private readonly http: Transport) {}

  /** Starts a session (`POST /v1/sessions`), with an Idempotency-Key. */
  async create(options: SessionOptions = {}, call: CreateOptions = {}): Promise<BrowserSession> {
    const session = await this.http.json<Session>({
      method: "POST",
      path: "/v1/sessions",
      body: options,
      signal: call.signal,
      idempotent: true,
      idempotencyKey: call.idempotencyKey,
    });
    return new BrowserSession(this.http, session);
  }

  /**
   * Runs `fn` with a new session and closes the session afterwards, whatever `fn` does (the
   * duration is billed at close).
   */
  async use<T>(
    options: SessionOptions,
    fn: (session: BrowserSession) => Promise<T>,
    call: CreateOptions = {},
  ): Promise<T> {
    const session = await this.create(options, call);
    try {
      return await fn(session);
    } finally {
      await session.close({ signal: call.signal?.aborted ? undefined : call.signal });
    }
  }

  /** A handle on an existing session, without a request. */
  attach(id: string): BrowserSession {
    return new BrowserSession(this.http, id);
  }

  /** Reads a session (`GET /v1/sessions/{id}`). */
  get(id: string, options: CallOptions = {}): Promise<Session> {
    return this.http.json<Session>({ method: "GET", path: path(id), signal: options.signal });
  }

  /** One page of this key's sessions (`GET /v1/sessions`). */
  list(options: ListSessionsOptions = {}): Promise<SessionList> {
    return this.http.json<SessionList>({
      method: "GET",
      path: "/v1/sessions",
      query: { status: options.status, limit: options.limit, cursor: options.cursor },
      signal: options.signal,
    });
  }

  /** Every session of this key, page after page. */
  async *iterate(options: Omit<ListSessionsOptions, "cursor"> = {}): AsyncGenerator<Session> {
    let cursor: string | null | undefined;
    do {
      const page = await this.list({ ...options, cursor });
      yield* page.sessions;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Closes a session and returns its final object; repeating it charges nothing. */
  close(id: string, options: CallOptions = {}): Promise<Session> {
    return this.http.json<Session>({ method: "DELETE", path: path(id), signal: options.signal });
  }

  /** Runs one action (`POST /v1/sessions/{id}/actions`). */
  action<T extends ActionType>(
    id: string,
    type: T,
    payload: ActionPayloads[T],
    options: CallOptions = {},
  ): Promise<ActionResults[T]> {
    return this.http.json<ActionResults[T]>({
      method: "POST",
      path: path(id, "/actions"),
      body: { type, payload },
      signal: options.signal,
    });
  }
}

/**
 * One live session: its last known state in `data`, and a typed method per action.
 * Failed actions throw typed errors (`SelectorTimeoutError`, `DomainNotAllowedError` …).
 */
export class BrowserSession {
  /** `sess_…`. */
  readonly id: string;
  /** The session as last read, created or closed (undefined for an attached handle). */
  data: Session | undefined;

  constructor(
    private readonly http: Transport,
    session: Session | string,
  ) {
    if (typeof session === "string") {
      this.id = session;
    } else {
      this.id = session.id;
      this.data = session;
    }
  }

  /** Runs any action by type. */
  action<T extends ActionType>(
    type: T,
    payload: ActionPayloads[T],
    options: CallOptions = {},
  ): Promise<ActionResults[T]> {
    return this.http.json<ActionResults[T]>({
      method: "POST",
      path: path(this.id, "/actions"),
      body: { type, payload },
      signal: options.signal,
    });
  }

  goto(payload: GotoPayload | string, options?: CallOptions): Promise<ActionResults["goto"]> {
    return this.action("goto", typeof payload === "string" ? { url: payload } : payload, options);
  }
  click(payload: ClickPayload, options?: CallOptions): Promise<ActionResults["click"]> {
    return this.action("click", payload, options);
  }
  hover(payload: HoverPayload, options?: CallOptions): Promise<ActionResults["hover"]> {
    return this.action("hover", payload, options);
  }
  type(payload: TypePayload, options?: CallOptions): Promise<ActionResults["type"]> {
    return this.action("type", payload, options);
  }
  fill(payload: FillPayload, options?: CallOptions): Promise<ActionResults["fill"]> {
    return this.action("fill", payload, options);
  }
  press(payload: PressPayload, options?: CallOptions): Promise<ActionResults["press"]> {
    return this.action("press", payload, options);
  }
  select(payload: SelectPayload, options?: CallOptions): Promise<ActionResults["select"]> {
    return this.action("select", payload, options);
  }
  scroll(payload: ScrollPayload, options?: CallOptions): Promise<ActionResults["scroll"]> {
    return this.action("scroll", payload, options);
  }
  waitForSelector(
    payload: WaitForSelectorPayload,
    options?: CallOptions,
  ): Promise<ActionResults["waitForSelector"]> {
    return this.action("waitForSelector", payload, options);
  }
  wait(payload: WaitPayload, options?: CallOptions): Promise<ActionResults["wait"]> {
    return this.action("wait", payload, options);
  }
  query(payload: QueryPayload, options?: CallOptions): Promise<ActionResults["query"]> {
    return this.action("query", payload, options);
  }
  back(payload: HistoryPayload = {}, options?: CallOptions): Promise<ActionResults["back"]> {
    return this.action("back", payload, options);
  }
  forward(payload: HistoryPayload = {}, options?: CallOptions): Promise<ActionResults["forward"]> {
    return this.action("forward", payload, options);
  }
  reload(payload: HistoryPayload = {}, options?: CallOptions): Promise<ActionResults["reload"]> {
    return this.action("reload", payload, options);
  }
  content(payload: ContentPayload = {}, options?: CallOptions): Promise<ActionResults["content"]> {
    return this.action("content", payload, options);
  }
  /** The ARIA snapshot; `{ mode: "ai" }` gives refs (`[ref=e12]`) for `click({ ref })`. */
  snapshot(
    payload: SnapshotPayload = {},
    options?: CallOptions,
  ): Promise<ActionResults["snapshot"]> {
    return this.action("snapshot", payload, options);
  }
  evaluate<T = Json>(payload: EvaluatePayload, options?: CallOptions): Promise<EvaluateResult<T>> {
    return this.action("evaluate", payload, options) as Promise<EvaluateResult<T>>;
  }
  screenshot(
    payload: ScreenshotPayload = {},
    options?: CallOptions,
  ): Promise<ActionResults["screenshot"]> {
    return this.action("screenshot", payload, options);
  }
  pdf(payload: PdfPayload = {}, options?: CallOptions): Promise<ActionResults["pdf"]> {
    return this.action("pdf", payload, options);
  }

  /** Reads the session again (`GET /v1/sessions/{id}`) into `data`. */
  async refresh(options: CallOptions = {}): Promise<Session> {
    this.data = await this.http.json<Session>({
      method: "GET",
      path: path(this.id),
      signal: options.signal,
    });
    return this.data;
  }

  /** Closes the session (billed once) and returns its final object. */
  async close(options: CallOptions = {}): Promise<Session> {
    this.data = await this.http.json<Session>({
      method: "DELETE",
      path: path(this.id),
      signal: options.signal,
    });
    return this.data;
  }

  /** A live-view link for a person to watch (or drive, with `interact`) the page. */
  liveView(request: LiveRequest = { mode: "view" }, options: CallOptions = {}): Promise<LiveLink> {
    return this.http.json<LiveLink>({
      method: "POST",
      path: path(this.id, "/live"),
      body: request,
      signal: options.signal,
    });
  }

  /** Revokes every live-view link of the session. */
  async revokeLiveViews(options: CallOptions = {}): Promise<void> {
    await this.http.send({ method: "DELETE", path: path(this.id, "/live"), signal: options.signal });
  }

  /** A short-lived credential for one scope of this session (`cdp`, `live-view` …). */
  token(request: TokenRequest, options: CallOptions = {}): Promise<ScopedToken> {
    return this.http.json<ScopedToken>({
      method: "POST",
      path: path(this.id, "/tokens"),
      body: request,
      signal: options.signal,
    });
  }

  /** Saves the session's cookies and localStorage as a profile (SPEC §16). */
  saveProfile(request: ProfileRequest, options: CreateOptions = {}): Promise<Profile> {
    return this.http.json<Profile>({
      method: "POST",
      path: path(this.id, "/profile"),
      body: request,
      signal: options.signal,
      idempotencyKey: options.idempotencyKey,
    });
  }
}
