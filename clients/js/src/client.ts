// The Vitrine API client: one method per endpoint a storefront or a shop's back office calls,
// typed by schema.ts (the OpenAPI document's types), with the API's `{message, code, type}`
// errors thrown as `VitrineError`. Each method names its operation by the document's path and
// method (`call("post", "/v1/indexes/{index}/search", …)`), so the build checks the path, its
// parameters, the body and the answer against the document.

import type { paths } from "./openapi.gen.js";
import type {
  DocumentsFormat,
  ErrorBody,
  ErrorCode,
  ErrorType,
  EvaluateRequest,
  Evaluation,
  EventsBody,
  EventsRecorded,
  FacetValues,
  FacetValuesRequest,
  IndexList,
  IndexSettings,
  IndexSummary,
  Preview,
  PreviewRequest,
  Product,
  ProductDraft,
  RecommendationRequest,
  Recommendations,
  SearchAnswer,
  SearchRequest,
  SettingsPart,
  SettingsPartValue,
  SettingsVersion,
  SuggestRequest,
  Suggestions,
  Upserted,
} from "./schema.js";

// ─── The document's operations, by path and method ───────────────────────────────────────────

type Path = keyof paths;
type HttpMethod = "get" | "put" | "post" | "delete" | "patch";
/** The methods the document has at a path. */
type MethodOf<P extends Path> = { [M in HttpMethod]: paths[P][M] extends undefined ? never : M }[HttpMethod];
/** The operation at a path and method. */
type Operation<P extends Path, M extends HttpMethod> = NonNullable<paths[P][M]>;
/** An operation's path parameters (`{}` when it has none). */
type PathParams<O> = O extends { parameters: { path: infer T } } ? T : Record<string, never>;
/** An operation's query parameters. */
type QueryParams<O> = O extends { parameters: { query?: infer T } } ? NonNullable<T> : never;
/** An operation's body of the content type `C` (`undefined` when it takes no body). */
type Body<O, C extends string> = O extends { requestBody?: never }
  ? undefined
  : O extends { requestBody: { content: infer Content } }
    ? C extends keyof Content
      ? Content[C]
      : never
    : O extends { requestBody?: { content: infer Content } }
      ? (C extends keyof Content ? Content[C] : never) | undefined
      : never;
/** An operation's success response: its 200, 201 or 202 (else a 204's, without content). */
type Success<R> = R extends { 200: infer S } ? S : R extends { 201: infer S } ? S : R extends { 202: infer S } ? S : { content?: never };
/** An operation's success answer: the JSON of its success response, nothing (`void`) for a 204. */
type Answer<O> = O extends { responses: infer R }
  ? Success<R> extends { content: { "application/json": infer T } }
    ? T
    : void
  : never;
/** The `Content-Type`s the document accepts for a documents upsert. */
type UpsertContentType = keyof Operation<"/v1/indexes/{index}/documents", "post">["requestBody"]["content"];

/** The `fetch` the client calls (the global one by default). */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface VitrineOptions {
  /** The server's origin, `https://search.example` (a path prefix is kept). */
  server: string;
  /** An API key: the public search key in a browser. Sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** A signed-in shopper's token; sent instead of the key when set. */
  shopperToken?: string;
  /** Another `fetch` (tests, server-side runtimes, instrumentation). */
  fetch?: Fetch;
  /** Headers sent with every request (`X-Vitrine-Actor` for the settings audit log, …). */
  headers?: Record<string, string>;
}

/** Per-call options. */
export interface CallOptions {
  /** Cancels the request (a search the shopper has typed past). */
  signal?: AbortSignal;
  /** Headers for this call only. */
  headers?: Record<string, string>;
}

/** An error answer of the API, or a request that got no answer (`status` 0, `code` `network_error`). */
export class VitrineError extends Error {
  /** The HTTP status (0: no answer). */
  readonly status: number;
  /** The API's stable code (`invalid_filter`, `model_not_trained`, …), or the client's own. */
  readonly code: ErrorCode | "network_error" | "invalid_response";
  /** The code's family. */
  readonly type: ErrorType;
  /** The server's `X-Request-Id`, when it sent one. */
  readonly requestId: string | undefined;

  constructor(
    status: number,
    body: { message: string; code: VitrineError["code"]; type: ErrorType },
    requestId?: string,
    cause?: unknown,
  ) {
    super(body.message);
    this.name = "VitrineError";
    this.status = status;
    this.code = body.code;
    this.type = body.type;
    this.requestId = requestId;
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

const CONTENT_TYPES: Record<DocumentsFormat, UpsertContentType> = {
  json: "application/json",
  ndjson: "application/x-ndjson",
  csv: "text/csv",
};

const segment = encodeURIComponent;

/** The Vitrine API. */
export class Vitrine {
  readonly server: string;
  private readonly credential: string | undefined;
  private readonly fetcher: Fetch;
  private readonly headers: Record<string, string>;

  constructor(options: VitrineOptions) {
    if (!options || !options.server) throw new TypeError("Vitrine: `server` is required");
    this.server = options.server.replace(/\/+$/, "");
    this.credential = options.shopperToken || options.apiKey;
    const fetcher = options.fetch ?? (globalThis.fetch as Fetch | undefined);
    if (!fetcher) throw new TypeError("Vitrine: no `fetch` in this runtime; pass one as `fetch`");
    // Called unbound, a browser's fetch throws "Illegal invocation".
    this.fetcher = options.fetch ? fetcher : (input, init) => globalThis.fetch(input, init);
    this.headers = { ...options.headers };
  }

  /** `POST /v1/indexes/{index}/search`. */
  search(index: string, request: SearchRequest = {}, options?: CallOptions): Promise<SearchAnswer> {
    return this.call("post", "/v1/indexes/{index}/search", { index }, request, options);
  }

  /** `GET /v1/indexes/{index}/suggest`: query completions and products for autocomplete. */
  suggest(index: string, request: SuggestRequest | string, options?: CallOptions): Promise<Suggestions> {
    const query = typeof request === "string" ? { q: request } : request;
    return this.call("get", "/v1/indexes/{index}/suggest", { index }, undefined, options, { query });
  }

  /** `POST /v1/indexes/{index}/facets/{facet}/values`: a facet's values matching what was typed, counted under the query and filter. */
  facetValues(index: string, facet: string, request: FacetValuesRequest = {}, options?: CallOptions): Promise<FacetValues> {
    return this.call("post", "/v1/indexes/{index}/facets/{facet}/values", { index, facet }, request, options);
  }

  /** `POST /v1/indexes/{index}/recommendations`. */
  recommendations(index: string, request: RecommendationRequest, options?: CallOptions): Promise<Recommendations> {
    return this.call("post", "/v1/indexes/{index}/recommendations", { index }, request, options);
  }

  /** `POST /v1/indexes/{index}/events`: one event or up to 1,000. */
  events(index: string, events: EventsBody, options?: CallOptions): Promise<EventsRecorded> {
    return this.call("post", "/v1/indexes/{index}/events", { index }, events, options);
  }

  /** Products: read one; upsert and delete with an admin key. */
  readonly documents = {
    /** `GET /v1/indexes/{index}/documents/{id}`. */
    get: (index: string, id: string, options?: CallOptions): Promise<Product> =>
      this.call("get", "/v1/indexes/{index}/documents/{id}", { index, id }, undefined, options),
    /**
     * `POST /v1/indexes/{index}/documents`: upserts by id (newer version wins), all or nothing.
     * Products as objects, or a body already written as JSON Lines or CSV (`format`).
     */
    upsert: (
      index: string,
      documents: ProductDraft[] | string,
      options?: CallOptions & { format?: DocumentsFormat },
    ): Promise<Upserted> => {
      const contentType = CONTENT_TYPES[options?.format ?? "json"];
      return this.call("post", "/v1/indexes/{index}/documents", { index }, documents, options, { contentType });
    },
    /** `DELETE /v1/indexes/{index}/documents/{id}`. */
    delete: (index: string, id: string, options?: CallOptions): Promise<void> =>
      this.call("delete", "/v1/indexes/{index}/documents/{id}", { index, id }, undefined, options),
  };

  /** An index's settings (admin): whole, by part, drafts, history. */
  readonly settings = {
    /** `GET /v1/indexes/{index}/settings`. */
    get: (index: string, options?: CallOptions): Promise<IndexSettings> =>
      this.call("get", "/v1/indexes/{index}/settings", { index }, undefined, options),
    /** `PUT /v1/indexes/{index}/settings`: replaces them all (missing parts take their defaults). */
    put: (index: string, settings: IndexSettings, options?: CallOptions): Promise<IndexSettings> =>
      this.call("put", "/v1/indexes/{index}/settings", { index }, settings, options),
    /** `DELETE /v1/indexes/{index}/settings`: every part back to its default. */
    reset: (index: string, options?: CallOptions): Promise<IndexSettings> =>
      this.call("delete", "/v1/indexes/{index}/settings", { index }, undefined, options),
    // The document gives the part endpoints no schema: a part's value is typed from `IndexSettings`.
    /** `GET /v1/indexes/{index}/settings/{part}`. */
    getPart: <P extends SettingsPart>(index: string, part: P, options?: CallOptions): Promise<SettingsPartValue<P>> =>
      this.call("get", "/v1/indexes/{index}/settings/{part}", { index, part }, undefined, options) as Promise<SettingsPartValue<P>>,
    /** `PUT /v1/indexes/{index}/settings/{part}`. */
    putPart: <P extends SettingsPart>(
      index: string,
      part: P,
      value: SettingsPartValue<P>,
      options?: CallOptions,
    ): Promise<SettingsPartValue<P>> =>
      this.call("put", "/v1/indexes/{index}/settings/{part}", { index, part }, value, options) as Promise<SettingsPartValue<P>>,
    /** `DELETE /v1/indexes/{index}/settings/{part}`. */
    resetPart: <P extends SettingsPart>(index: string, part: P, options?: CallOptions): Promise<SettingsPartValue<P>> =>
      this.call("delete", "/v1/indexes/{index}/settings/{part}", { index, part }, undefined, options) as Promise<SettingsPartValue<P>>,
    /** `GET /v1/indexes/{index}/settings/history`: newest first. */
    history: (index: string, options?: CallOptions): Promise<SettingsVersion[]> =>
      this.call("get", "/v1/indexes/{index}/settings/history", { index }, undefined, options),
    /** `POST /v1/indexes/{index}/settings/history/{version}/restore`. */
    restore: (index: string, version: number, options?: CallOptions): Promise<IndexSettings> =>
      this.call("post", "/v1/indexes/{index}/settings/history/{version}/restore", { index, version }, undefined, options),
    /** `POST /v1/indexes/{index}/settings/preview`: a query answered with the live settings and with a draft. */
    preview: (index: string, request: PreviewRequest, options?: CallOptions): Promise<Preview> =>
      this.call("post", "/v1/indexes/{index}/settings/preview", { index }, request, options),
    /** `POST /v1/indexes/{index}/settings/evaluate`: offline evaluation of a draft on judgments. */
    evaluate: (index: string, request: EvaluateRequest, options?: CallOptions): Promise<Evaluation> =>
      this.call("post", "/v1/indexes/{index}/settings/evaluate", { index }, request, options),
  };

  /** The indexes. */
  readonly indexes = {
    /** `GET /v1/indexes`. */
    list: (options?: CallOptions): Promise<IndexList> => this.call("get", "/v1/indexes", {}, undefined, options),
    /** `GET /v1/indexes/{index}`. */
    get: (index: string, options?: CallOptions): Promise<IndexSummary> =>
      this.call("get", "/v1/indexes/{index}", { index }, undefined, options),
    /** `DELETE /v1/indexes/{index}` (admin): the index and its data, analytics included. */
    delete: (index: string, options?: CallOptions): Promise<void> =>
      this.call("delete", "/v1/indexes/{index}", { index }, undefined, options),
  };

  /**
   * One operation of the document, by its path template and method: the path parameters, the
   * query, the body and the answer are the document's. The body is sent as JSON unless it is a
   * string already (`contentType` then says which of the document's types it is).
   */
  private call<P extends Path, M extends MethodOf<P>, C extends string = "application/json">(
    method: M,
    path: P,
    params: PathParams<Operation<P, M>>,
    body: Body<Operation<P, M>, NoInfer<C>>,
    options?: CallOptions,
    extra?: { query?: QueryParams<Operation<P, M>>; contentType?: C },
  ): Promise<Answer<Operation<P, M>>> {
    const values = params as Record<string, string | number>;
    let url: string = path.replace(/\{(\w+)\}/g, (_, name: string) => segment(String(values[name])));
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries((extra?.query ?? {}) as Record<string, unknown>)) {
      if (value !== undefined && value !== null) query.set(name, String(value));
    }
    const search = query.toString();
    if (search) url += `?${search}`;
    return this.request(method.toUpperCase(), url, body, options, extra?.contentType);
  }

  /** Sends one request; parses the JSON answer, or throws the API's error as a `VitrineError`. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options?: CallOptions,
    contentType = "application/json",
  ): Promise<T> {
    const headers: Record<string, string> = { ...this.headers, ...options?.headers };
    if (this.credential) headers.Authorization = `Bearer ${this.credential}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = contentType;
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    if (options?.signal) init.signal = options.signal;
    let response: Response;
    try {
      response = await this.fetcher(this.server + path, init);
    } catch (error) {
      // An abort is the caller's own doing: it stays an AbortError.
      if ((error as { name?: string })?.name === "AbortError") throw error;
      const message = `cannot reach ${this.server}: ${(error as Error)?.message ?? error}`;
      throw new VitrineError(0, { message, code: "network_error", type: "system" }, undefined, error);
    }
    const requestId = response.headers.get("x-request-id") ?? undefined;
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch (error) {
      if (response.ok) {
        const message = `${method} ${path}: the answer is not JSON`;
        throw new VitrineError(response.status, { message, code: "invalid_response", type: "system" }, requestId, error);
      }
    }
    if (!response.ok) {
      const api = parsed as Partial<ErrorBody> | undefined;
      if (api && typeof api.code === "string" && typeof api.message === "string") {
        throw new VitrineError(response.status, { message: api.message, code: api.code, type: api.type ?? "system" }, requestId);
      }
      const message = `${method} ${path}: HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
      const type: ErrorType = response.status >= 500 ? "internal" : "invalid_request";
      throw new VitrineError(response.status, { message, code: "invalid_response", type }, requestId);
    }
    return parsed as T;
  }
}
