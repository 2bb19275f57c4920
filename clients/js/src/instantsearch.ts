// An InstantSearch.js v4 `searchClient` backed by Vitrine.
//
// InstantSearch (through algoliasearch-helper) sends, for every interaction, the main query plus
// one query per refined disjunctive facet (that facet's refinements removed, `hitsPerPage: 0`,
// `facets: [that facet]`) and one per parent level of a refined hierarchical menu. Vitrine counts
// a facet with a selected value without its own filter already, so one Vitrine search answers
// them all: `search(requests)` folds every query of a call that a Vitrine answer can serve into
// that answer's request, and answers each InstantSearch query from it.
//
// A query is served by an answer of the same index, sort and query text when its filter is the
// answer's filter minus some fields and every facet it asks for is one of those fields (then
// Vitrine counted that facet exactly as the query means it). Queries no answer can serve get a
// Vitrine request of their own, so the folding never changes a count.
//
// The category tree (hierarchicalMenu): Vitrine counts the children of the selected category
// only. The parent levels InstantSearch shows come from earlier answers to the same query and
// filters (a shopper walks the tree down from the top, so they were counted on the way); a level
// never counted shows the selected path alone, with the selected category's count.

import { Vitrine, VitrineError, type Fetch } from "./client.js";
import type {
  FacetCounts,
  FacetStats,
  Filter,
  Hit,
  Product,
  RangeFilter,
  RecommendationKind,
  RecommendationRequest,
  Recommendations,
  SearchAnswer,
  SearchRequest,
  SortOrder,
} from "./schema.js";

// ─── The parts of InstantSearch's client protocol the adapter speaks ─────────────────────────

/** Search parameters as algoliasearch-helper sends them (the ones the adapter reads). */
export interface SearchParams {
  query?: string;
  page?: number;
  hitsPerPage?: number;
  facets?: string | string[];
  facetFilters?: string | Array<string | string[]>;
  numericFilters?: string | Array<string | string[]>;
  filters?: string;
  highlightPreTag?: string;
  highlightPostTag?: string;
  attributesToHighlight?: string | string[];
  maxValuesPerFacet?: number;
  facetName?: string;
  facetQuery?: string;
  maxFacetHits?: number;
  /** Not Algolia's: a Vitrine filter object ANDed with the rest (`configure({vitrineFilter: {in_stock: true}})`). */
  vitrineFilter?: Filter;
  [other: string]: unknown;
}

/** One query of `search(requests)`. */
export interface SearchQuery {
  indexName: string;
  params?: SearchParams | string;
  /** algoliasearch v5's facet searches sent through `search`. */
  type?: "default" | "facet";
  facet?: string;
}

/** A facet's numeric statistics. */
export interface FacetStatsResult {
  min: number;
  max: number;
}

/** An Algolia-shaped highlight of one attribute. */
export interface HighlightResult {
  value: string;
  matchLevel: "none" | "partial" | "full";
  matchedWords: string[];
  fullyHighlighted?: boolean;
}

/** A hit as InstantSearch expects it: the product's fields (attributes lifted to the top), `objectID` and `_highlightResult`. */
export interface InstantSearchHit {
  objectID: string;
  _highlightResult: Record<string, HighlightResult>;
  [field: string]: unknown;
}

/** The answer to one query, in Algolia's shape. */
export interface SearchResult {
  hits: InstantSearchHit[];
  nbHits: number;
  page: number;
  nbPages: number;
  hitsPerPage: number;
  processingTimeMS: number;
  exhaustiveNbHits: boolean;
  exhaustiveFacetsCount: boolean;
  exhaustive: { nbHits: boolean; facetsCount: boolean };
  query: string;
  params: string;
  index: string;
  facets?: Record<string, FacetCounts>;
  facets_stats?: Record<string, FacetStatsResult>;
  queryID?: string;
  /** Vitrine's configured facet value orders (`facet_order`), as InstantSearch's facet ordering. */
  renderingContent: {
    facetOrdering?: { values: Record<string, { order: string[]; sortRemainingBy: "count" }> };
  };
}

export interface FacetHit {
  value: string;
  highlighted: string;
  count: number;
}

export interface FacetSearchResult {
  facetHits: FacetHit[];
  exhaustiveFacetsCount: boolean;
  processingTimeMS: number;
}

/** A query of `getRecommendations(queries)` (the Recommend widgets). */
export interface RecommendQuery {
  indexName: string;
  model: "related-products" | "bought-together" | "trending-items" | "trending-facets" | "looking-similar" | string;
  objectID?: string;
  maxRecommendations?: number;
  threshold?: number;
  facetName?: string;
  facetValue?: string;
  queryParameters?: SearchParams;
  fallbackParameters?: SearchParams;
}

export interface RecommendResult {
  hits: InstantSearchHit[];
  nbHits: number;
  processingTimeMS: number;
  index: string;
}

/** What one call of the client cost: InstantSearch's queries against Vitrine's HTTP requests. */
export interface RequestsEvent {
  method: "search" | "searchForFacetValues" | "getRecommendations";
  /** Queries InstantSearch sent in this call (the N+1 of disjunctive faceting). */
  requests: number;
  /** HTTP requests sent to Vitrine for them (answers from the cache not counted). */
  vitrineRequests: number;
  /** Vitrine answers taken from the cache. */
  cached: number;
}

export interface InstantSearchClientOptions {
  /** The Vitrine server's origin. */
  server: string;
  /** The public search key. */
  apiKey?: string;
  /** A signed-in shopper's token (sent instead of the key). */
  shopperToken?: string;
  /** The Vitrine index for index names that do not name one (`""`, `":price_asc"`). */
  index?: string;
  /** Another `fetch`. */
  fetch?: Fetch;
  /** A Vitrine client to use instead of one made from the options above. */
  client?: Vitrine;
  /**
   * A guest shopper's session id (a function is asked at every request), sent with every search
   * and recommendation request so that a running experiment keeps showing the guest one variant
   * and counts what they do; a signed-in shopper is named by `shopperToken` instead. New
   * experiments need no change here.
   */
  sessionId?: string | (() => string | undefined);
  /**
   * Which InstantSearch attributes are the levels of Vitrine's `category` tree: a function from
   * attribute to level (0-based) or undefined. Default: `<name>.lvl<N>` for `hierarchicalCategories`,
   * `categories` and `category`.
   */
  categoryLevel?: (attribute: string) => number | undefined;
  /** The hierarchicalMenu's separator (default `" > "`, InstantSearch's). */
  categorySeparator?: string;
  /** InstantSearch attribute → Vitrine facet, for names that differ. */
  facetNames?: Record<string, string>;
  /** Keep answers for identical requests (as algoliasearch does; `clearCache()` empties it). Default true. */
  cache?: boolean;
  /** Called after every call with what it cost. */
  onRequests?: (event: RequestsEvent) => void;
  /** Called for parameters the adapter cannot honour (default: `console.warn`). */
  onWarning?: (message: string) => void;
}

/** The object to pass to `instantsearch({ searchClient })`. */
export interface InstantSearchClient {
  search(requests: SearchQuery[]): Promise<{ results: Array<SearchResult | FacetSearchResult> }>;
  searchForFacetValues(queries: Array<{ indexName: string; params: SearchParams | string }>): Promise<FacetSearchResult[]>;
  getRecommendations(queries: RecommendQuery[]): Promise<{ results: RecommendResult[] }>;
  clearCache(): Promise<void>;
  /** The Vitrine client underneath. */
  readonly vitrine: Vitrine;
}

// ─── Parsing InstantSearch queries into Vitrine requests ─────────────────────────────────────

const SORTS: readonly string[] = ["relevance", "price_asc", "price_desc", "popularity", "newest"];
/** Vitrine's fields that take ranges. */
const RANGE_FIELDS = new Set(["price", "rating"]);
/** The deepest result Vitrine pages to. */
const RESULT_WINDOW = 1000;
const DEFAULT_HITS_PER_PAGE = 20;
const MAX_PER_PAGE = 200;

/** One InstantSearch query, read. */
interface Parsed {
  indexName: string;
  index: string;
  sort: SortOrder | undefined;
  q: string;
  filter: Filter;
  /** InstantSearch facet attributes asked for. */
  facets: string[];
  /** 0-based. */
  page: number;
  hitsPerPage: number;
  pre: string;
  post: string;
  maxValuesPerFacet: number | undefined;
  highlight: string[];
  params: SearchParams;
}

/** One Vitrine search serving some InstantSearch queries. */
interface Call {
  group: string;
  index: string;
  sort: SortOrder | undefined;
  q: string;
  filter: Filter;
  facets: Set<string>;
  page: number;
  perPage: number;
  /** The page is past Vitrine's window: hits are not asked for. */
  noHits: boolean;
  answers: number[];
  response?: SearchAnswer;
}

function defaultCategoryLevel(attribute: string): number | undefined {
  const match = /^(?:hierarchicalCategories|categories|category)\.lvl(\d+)$/.exec(attribute);
  return match ? Number(match[1]) : undefined;
}

function readParams(params: SearchParams | string | undefined): SearchParams {
  if (!params) return {};
  if (typeof params !== "string") return params;
  // algoliasearch v3's URL-encoded parameters.
  const read: SearchParams = {};
  new URLSearchParams(params).forEach((value, key) => {
    try {
      read[key] = JSON.parse(value);
    } catch {
      read[key] = value;
    }
  });
  return read;
}

function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** `{a: 1, b: [2, 3]}` with keys and list items sorted: equal filters, equal strings. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A category path as Vitrine writes it (`Men/Tops`), from levels. */
function categoryPath(levels: string[]): string {
  return levels.map((level) => level.trim()).filter(Boolean).join("/");
}

/** Raises the lower or lowers the upper bound of a range (the tighter one wins). */
function tighten(range: RangeFilter, op: string, value: number): void {
  if (op === ">" || op === ">=") {
    const current = range.gt ?? range.gte;
    const exclusive = op === ">";
    if (current === undefined || value > current || (value === current && exclusive)) {
      delete range.gt;
      delete range.gte;
      range[exclusive ? "gt" : "gte"] = value;
    }
  } else {
    const current = range.lt ?? range.lte;
    const exclusive = op === "<";
    if (current === undefined || value < current || (value === current && exclusive)) {
      delete range.lt;
      delete range.lte;
      range[exclusive ? "lt" : "lte"] = value;
    }
  }
}

/** Builds Vitrine filters from InstantSearch's refinements. */
class FilterBuilder {
  private readonly values = new Map<string, Set<string>>();
  private readonly ranges = new Map<string, RangeFilter>();
  private readonly flags = new Map<string, boolean>();

  constructor(private readonly adapter: Adapter) {}

  /** One OR-group of `attribute:value` facet filters (a string is a group of one). */
  facetGroup(group: string[]): void {
    const byField = new Map<string, string[]>();
    for (const filter of group) {
      const colon = filter.indexOf(":");
      if (colon < 0) throw new Error(`Vitrine: cannot read the facet filter \`${filter}\``);
      const attribute = filter.slice(0, colon).trim();
      let value = filter.slice(colon + 1);
      if (value.startsWith("-")) {
        this.adapter.warn(`facet exclusions are not supported by Vitrine: \`${filter}\` is ignored`);
        continue;
      }
      if (value.startsWith("\\-")) value = value.slice(1);
      const level = this.adapter.categoryLevel(attribute);
      const field = level === undefined ? this.adapter.field(attribute) : "category";
      if (level !== undefined) value = categoryPath(value.split(this.adapter.separator));
      byField.set(field, [...(byField.get(field) ?? []), value]);
    }
    if (byField.size > 1) {
      throw new Error(`Vitrine: an OR of filters on different fields cannot be expressed: ${group.join(" OR ")}`);
    }
    for (const [field, values] of byField) this.add(field, values);
  }

  /** Values of one field, ORed (fields are ANDed). */
  add(field: string, values: string[]): void {
    if (field === "in_stock") {
      this.flags.set(field, values[0] === "true" || values[0] === "1");
      return;
    }
    if (RANGE_FIELDS.has(field)) {
      for (const value of values) {
        const number = Number(value);
        if (!Number.isFinite(number)) throw new Error(`Vitrine: \`${field}\` takes numbers, not \`${value}\``);
        this.range(field, ">=", number);
        this.range(field, "<=", number);
      }
      return;
    }
    const existing = this.values.get(field);
    if (existing && ![...existing].every((value) => values.includes(value))) {
      // Two AND groups on one field (a conjunctive facet with several values): Vitrine's lists are OR.
      this.adapter.warn(`\`${field}\`: several ANDed values are searched as OR (Vitrine's lists are OR)`);
    }
    const set = existing ?? new Set<string>();
    values.forEach((value) => set.add(value));
    this.values.set(field, set);
  }

  range(field: string, op: string, value: number): void {
    if (op === "=") {
      this.range(field, ">=", value);
      this.range(field, "<=", value);
      return;
    }
    if (op === "!=") {
      this.adapter.warn(`\`${field} != ${value}\` is not supported by Vitrine and is ignored`);
      return;
    }
    const range = this.ranges.get(field) ?? {};
    tighten(range, op, value);
    this.ranges.set(field, range);
  }

  numeric(filter: string): void {
    const match = /^\s*([\w.-]+)\s*(<=|>=|!=|<|>|=)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*$/.exec(filter);
    if (!match) throw new Error(`Vitrine: cannot read the numeric filter \`${filter}\``);
    this.range(this.adapter.field(match[1]), match[2], Number(match[3]));
  }

  build(): Filter {
    const filter: Filter = {};
    for (const [field, values] of this.values) {
      const sorted = [...values].sort();
      // A category path as a string selects that node: Vitrine then counts its children.
      filter[field] = field === "category" && sorted.length === 1 ? sorted[0] : sorted;
    }
    for (const [field, range] of this.ranges) filter[field] = range;
    for (const [field, flag] of this.flags) filter[field] = flag;
    return filter;
  }
}

/** Reads the subset of Algolia's `filters` syntax Vitrine can express: `a:x AND (b:y OR b:z) AND price >= 10 AND price:5 TO 20`. */
function readFiltersString(text: string, builder: FilterBuilder, adapter: Adapter): void {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\(|\)|<=|>=|!=|<|>|=|:|[^\s()<>=!:"']+/g) ?? [];
  let position = 0;
  const peek = () => tokens[position];
  const next = () => tokens[position++];
  const fail = (why: string): never => {
    throw new Error(`Vitrine: cannot read the filters \`${text}\`: ${why}`);
  };
  const value = (token: string | undefined): string => {
    if (token === undefined) return fail("a value is missing");
    return /^["']/.test(token) ? token.slice(1, -1).replace(/\\(.)/g, "$1") : token;
  };
  // One comparison; facet values are returned to be ORed by the caller.
  const atom = (): { field: string; value: string } | undefined => {
    if (/^not$/i.test(peek() ?? "")) fail("NOT is not supported");
    const attribute = value(next());
    const op = next();
    if (op === ":") {
      const first = value(next());
      if (/^to$/i.test(peek() ?? "")) {
        next();
        const last = Number(value(next()));
        const field = adapter.field(attribute);
        builder.range(field, ">=", Number(first));
        builder.range(field, "<=", last);
        return undefined;
      }
      const level = adapter.categoryLevel(attribute);
      if (level !== undefined) return { field: "category", value: categoryPath(first.split(adapter.separator)) };
      return { field: adapter.field(attribute), value: first };
    }
    if (op && ["<", "<=", ">", ">=", "=", "!="].includes(op)) {
      const number = Number(value(next()));
      if (!Number.isFinite(number)) fail(`\`${attribute} ${op}\` needs a number`);
      builder.range(adapter.field(attribute), op, number);
      return undefined;
    }
    return fail(`unexpected \`${op ?? "end"}\` after \`${attribute}\``);
  };
  const term = (): void => {
    if (peek() === "(") {
      next();
      const group: Array<{ field: string; value: string }> = [];
      for (;;) {
        const read = atom();
        if (read) group.push(read);
        const token = next();
        if (token === ")") break;
        if (!/^or$/i.test(token ?? "")) fail("only OR inside parentheses");
      }
      const fields = new Set(group.map((item) => item.field));
      if (fields.size > 1) fail("an OR of different fields cannot be expressed");
      if (group.length) builder.add(group[0].field, group.map((item) => item.value));
      return;
    }
    const read = atom();
    if (read) builder.add(read.field, [read.value]);
  };
  if (!tokens.length) return;
  term();
  while (position < tokens.length) {
    if (!/^and$/i.test(next() ?? "")) fail("terms are joined with AND (OR only inside parentheses)");
    term();
  }
}

// ─── Answers ─────────────────────────────────────────────────────────────────────────────────

function unescapeHtml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** Vitrine's highlight (`<em>` marks, the rest escaped) as Algolia's: raw text between the asked-for tags. */
function highlightFrom(markup: string, pre: string, post: string, words: number): HighlightResult {
  let value = "";
  const matched: string[] = [];
  let rest = "";
  let inside = false;
  let last = 0;
  for (const tag of markup.matchAll(/<(\/?)em>/g)) {
    const text = unescapeHtml(markup.slice(last, tag.index));
    if (inside) {
      value += pre + text + post;
      matched.push(text.toLowerCase());
    } else {
      value += text;
      rest += text;
    }
    inside = tag[1] !== "/";
    last = (tag.index ?? 0) + tag[0].length;
  }
  const tail = unescapeHtml(markup.slice(last));
  value += tail;
  rest += tail;
  const matchedWords = [...new Set(matched)];
  return {
    value,
    matchLevel: matchedWords.length === 0 ? "none" : matchedWords.length >= words ? "full" : "partial",
    matchedWords,
    fullyHighlighted: matchedWords.length > 0 && rest.trim() === "",
  };
}

/** Lower case without accents, character by character (so offsets stay those of the original). */
function fold(character: string): string {
  return character.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

/** `value` with the prefix of each word that a word of `typed` begins, wrapped in the tags. */
export function highlightPrefixes(value: string, typed: string, pre: string, post: string): string {
  const queryWords = typed
    .split(/[^\p{L}\p{N}]+/u)
    .map((word) => [...word].map(fold).join(""))
    .filter(Boolean);
  if (!queryWords.length) return value;
  let out = "";
  for (const part of value.split(/([\p{L}\p{N}]+)/u)) {
    const characters = [...part];
    const folded = characters.map(fold);
    let longest = 0;
    for (const word of queryWords) {
      // How many characters of `part` the query word covers.
      let covered = 0;
      let matchedLength = 0;
      while (covered < characters.length && matchedLength < word.length) {
        const piece = folded[covered];
        if (!piece || word.slice(matchedLength, matchedLength + piece.length) !== piece) break;
        matchedLength += piece.length;
        covered++;
      }
      if (matchedLength === word.length && covered > longest) longest = covered;
    }
    out += longest ? pre + characters.slice(0, longest).join("") + post + characters.slice(longest).join("") : part;
  }
  return out;
}

function levelsOf(category: Product["category"]): string[] {
  if (!category) return [];
  return Array.isArray(category) ? category : category.split("/").filter((level) => level.trim());
}

// ─── The adapter ────────────────────────────────────────────────────────────────────────────

/** A small least-recently-used map. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly size: number) {}
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
}

/** What Vitrine counted at one node of the category tree under one query and the other filters. */
interface NodeCounts {
  children?: FacetCounts;
  /** Products in the node (the answer's total when the node was selected). */
  total?: number;
}

class Adapter {
  readonly vitrine: Vitrine;
  readonly separator: string;
  private readonly defaultIndex: string | undefined;
  private readonly sessionId: string | (() => string | undefined) | undefined;
  private readonly levelOf: (attribute: string) => number | undefined;
  private readonly facetNames: Record<string, string>;
  private readonly useCache: boolean;
  private readonly onRequests: ((event: RequestsEvent) => void) | undefined;
  private readonly onWarning: (message: string) => void;
  private readonly answers = new Lru<string, Promise<SearchAnswer>>(64);
  /** (index, q, filter without category) → node path → counts. */
  private readonly tree = new Lru<string, Map<string, NodeCounts>>(200);
  private readonly warned = new Set<string>();

  constructor(options: InstantSearchClientOptions) {
    this.vitrine =
      options.client ??
      new Vitrine({ server: options.server, apiKey: options.apiKey, shopperToken: options.shopperToken, fetch: options.fetch });
    this.separator = options.categorySeparator ?? " > ";
    this.defaultIndex = options.index;
    this.sessionId = options.shopperToken ? undefined : options.sessionId;
    this.levelOf = options.categoryLevel ?? defaultCategoryLevel;
    this.facetNames = options.facetNames ?? {};
    this.useCache = options.cache ?? true;
    this.onRequests = options.onRequests;
    this.onWarning =
      options.onWarning ??
      ((message) => {
        if (typeof console !== "undefined") console.warn(`Vitrine InstantSearch adapter: ${message}`);
      });
  }

  warn(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.onWarning(message);
  }

  categoryLevel(attribute: string): number | undefined {
    return this.levelOf(attribute);
  }

  /** The Vitrine field of an InstantSearch attribute. */
  field(attribute: string): string {
    if (this.levelOf(attribute) !== undefined) return "category";
    return this.facetNames[attribute] ?? attribute;
  }

  /** `fashion`, `fashion:price_asc` (a sortBy item), or `:price_asc` with the `index` option. */
  target(indexName: string): { index: string; sort: SortOrder | undefined } {
    const colon = indexName.lastIndexOf(":");
    let index = indexName;
    let sort: SortOrder | undefined;
    if (colon >= 0 && SORTS.includes(indexName.slice(colon + 1))) {
      index = indexName.slice(0, colon);
      sort = indexName.slice(colon + 1) as SortOrder;
    }
    index = index || this.defaultIndex || "";
    if (!index) throw new Error(`Vitrine: the index name \`${indexName}\` names no index, and no \`index\` option was given`);
    return { index, sort };
  }

  filterOf(params: SearchParams): Filter {
    const builder = new FilterBuilder(this);
    const facetFilters = typeof params.facetFilters === "string" ? [params.facetFilters] : params.facetFilters ?? [];
    for (const group of facetFilters) builder.facetGroup(list(group));
    const numericFilters =
      typeof params.numericFilters === "string" ? params.numericFilters.split(",") : params.numericFilters ?? [];
    for (const filter of numericFilters) {
      if (Array.isArray(filter)) {
        if (filter.length > 1) this.warn(`an OR of numeric filters is not supported: only \`${filter[0]}\` is applied`);
        if (filter.length) builder.numeric(filter[0]);
      } else {
        builder.numeric(filter);
      }
    }
    if (typeof params.filters === "string" && params.filters.trim()) readFiltersString(params.filters, builder, this);
    if (params.tagFilters !== undefined && params.tagFilters !== "" && list(params.tagFilters).length) {
      this.warn("tagFilters are not supported by Vitrine and are ignored");
    }
    const filter = builder.build();
    if (params.vitrineFilter) Object.assign(filter, params.vitrineFilter);
    return filter;
  }

  parse(query: SearchQuery): Parsed {
    const params = readParams(query.params);
    const { index, sort } = this.target(query.indexName);
    const facets = list(params.facets).filter((facet) => {
      if (facet === "*") this.warn("`facets: ['*']` is not supported: name the facets");
      return facet !== "*";
    });
    const highlight = list(params.attributesToHighlight).filter((attribute) => attribute !== "*");
    return {
      indexName: query.indexName,
      index,
      sort,
      q: params.query ?? "",
      filter: this.filterOf(params),
      facets: [...new Set(facets)],
      page: Math.max(0, Number(params.page ?? 0) || 0),
      hitsPerPage: Math.min(MAX_PER_PAGE, Math.max(0, Number(params.hitsPerPage ?? DEFAULT_HITS_PER_PAGE))),
      pre: params.highlightPreTag ?? "<em>",
      post: params.highlightPostTag ?? "</em>",
      maxValuesPerFacet: typeof params.maxValuesPerFacet === "number" ? params.maxValuesPerFacet : undefined,
      highlight,
      params,
    };
  }

  /**
   * Whether `call`'s answer serves `query` exactly: the query's filter is the call's minus some
   * fields, each facet the query counts is every one of those fields, and it wants no hits (or the
   * very same page). Category levels come from the tree, so a query asking only for them may
   * differ in its category filter.
   */
  serves(call: Call, query: Parsed): boolean {
    if (call.group !== groupOf(query)) return false;
    if (query.hitsPerPage > 0) {
      return (
        canonical(call.filter) === canonical(query.filter) &&
        call.page === query.page + 1 &&
        call.perPage === query.hitsPerPage &&
        !call.noHits
      );
    }
    const facets = query.facets.map((facet) => this.field(facet));
    const onlyCategory = facets.length > 0 && facets.every((facet) => facet === "category");
    for (const [field, value] of Object.entries(query.filter)) {
      if (onlyCategory && field === "category") continue;
      if (!(field in call.filter) || canonical(call.filter[field]) !== canonical(value)) return false;
    }
    const removed = Object.keys(call.filter).filter(
      (field) => !(field in query.filter) && !(onlyCategory && field === "category"),
    );
    if (!facets.length) return removed.length === 0;
    return facets.every((facet) => removed.every((field) => field === facet));
  }

  /** The guest's session id for this request, if the options give one. */
  private session(): string | undefined {
    return typeof this.sessionId === "function" ? this.sessionId() : this.sessionId;
  }

  /** Sends (or takes from the cache) one Vitrine search. */
  private send(call: Call, sent: { requests: number; cached: number }): Promise<SearchAnswer> {
    const body: SearchRequest = { q: call.q, facets: [...call.facets].sort(), page: call.page, per_page: call.perPage };
    if (Object.keys(call.filter).length) body.filter = call.filter;
    if (call.sort) body.sort = call.sort;
    const session = this.session();
    if (session) body.session_id = session;
    const key = `${call.index}\u0000${canonical(body)}`;
    const cached = this.useCache ? this.answers.get(key) : undefined;
    if (cached) {
      sent.cached++;
      return cached;
    }
    sent.requests++;
    const answer = this.vitrine.search(call.index, body);
    if (this.useCache) {
      this.answers.set(key, answer);
      answer.catch(() => this.answers.delete(key));
    }
    return answer;
  }

  async search(requests: SearchQuery[]): Promise<{ results: Array<SearchResult | FacetSearchResult> }> {
    const results: Array<SearchResult | FacetSearchResult | undefined> = new Array(requests.length);
    const sent = { requests: 0, cached: 0 };
    // Facet searches sent through `search` (algoliasearch v5's way).
    const facetSearches = requests
      .map((request, position) => ({ request, position }))
      .filter(({ request }) => request.type === "facet");
    const searches = requests
      .map((request, position) => ({ request, position }))
      .filter(({ request }) => request.type !== "facet");
    const parsed = searches.map(({ request }) => this.parse(request));
    const calls: Call[] = [];
    const callOf = new Map<number, Call>();
    // The queries with hits first: each gets its call (identical ones share it).
    const order = parsed
      .map((_, i) => i)
      .sort((a, b) => Number(parsed[b].hitsPerPage > 0) - Number(parsed[a].hitsPerPage > 0));
    for (const i of order) {
      const query = parsed[i];
      let call = calls.find((candidate) => this.serves(candidate, query));
      if (!call) {
        const offset = query.page * query.hitsPerPage;
        const noHits = query.hitsPerPage === 0 || offset >= RESULT_WINDOW;
        call = {
          group: groupOf(query),
          index: query.index,
          sort: query.sort,
          q: query.q,
          filter: query.filter,
          facets: new Set(),
          page: noHits ? 1 : query.page + 1,
          perPage: query.hitsPerPage === 0 ? 1 : query.hitsPerPage,
          noHits,
          answers: [],
        };
        calls.push(call);
      }
      call.answers.push(i);
      callOf.set(i, call);
      for (const facet of query.facets) call.facets.add(this.field(facet));
    }
    const facetAnswers = facetSearches.map(({ request }) =>
      this.facetSearch(request.indexName, { ...readParams(request.params), facetName: request.facet }, sent),
    );
    await Promise.all(
      calls.map(async (call) => {
        call.response = await this.send(call, sent);
        this.remember(call, call.response);
      }),
    );
    parsed.forEach((query, i) => {
      const call = callOf.get(i) as Call;
      results[searches[i].position] = this.answer(query, call, call.response as SearchAnswer);
    });
    (await Promise.all(facetAnswers)).forEach((answer, i) => {
      results[facetSearches[i].position] = answer;
    });
    this.onRequests?.({ method: "search", requests: requests.length, vitrineRequests: sent.requests, cached: sent.cached });
    return { results: results as Array<SearchResult | FacetSearchResult> };
  }

  /** Keeps what an answer says about the category tree. */
  private remember(call: Call, response: SearchAnswer): void {
    const category = call.filter.category;
    const node = typeof category === "string" ? categoryPath(category.split("/")) : "";
    const key = treeKey(call);
    let nodes = this.tree.get(key);
    if (!nodes) {
      nodes = new Map();
      this.tree.set(key, nodes);
    }
    const counts: NodeCounts = { ...nodes.get(node) };
    if (call.facets.has("category") && response.facets.category) counts.children = response.facets.category;
    if (typeof category === "string") counts.total = nodeCount(response);
    nodes.set(node, counts);
  }

  /** The counts of one level of the category tree, keyed as InstantSearch's hierarchicalMenu writes them. */
  private categoryLevelCounts(call: Call, response: SearchAnswer, level: number): FacetCounts {
    const category = call.filter.category;
    const selected = typeof category === "string" ? category.split("/").filter((part) => part.trim()) : [];
    const nodes = this.tree.get(treeKey(call));
    let counts: FacetCounts | undefined;
    if (level === selected.length) {
      counts = response.facets.category;
    } else if (level < selected.length) {
      counts = { ...nodes?.get(selected.slice(0, level).join("/"))?.children };
      // The selected path is always shown, with its own count when known.
      const onPath = selected.slice(0, level + 1).join("/");
      if (counts[onPath] === undefined) {
        counts[onPath] = nodes?.get(onPath)?.total ?? nodeCount(response);
      }
    }
    const out: FacetCounts = {};
    for (const [path, count] of Object.entries(counts ?? {})) {
      out[path.split("/").join(this.separator)] = count;
    }
    return out;
  }

  /** The answer to one InstantSearch query from its call's Vitrine answer. */
  private answer(query: Parsed, call: Call, response: SearchAnswer): SearchResult {
    const facets: Record<string, FacetCounts> = {};
    const stats: Record<string, FacetStatsResult> = {};
    for (const attribute of query.facets) {
      const level = this.categoryLevel(attribute);
      const field = this.field(attribute);
      if (level !== undefined) {
        facets[attribute] = this.categoryLevelCounts(call, response, level);
      } else if (response.facets[field]) {
        facets[attribute] = truncate(response.facets[field], query.maxValuesPerFacet);
      }
      const stat = facetStats(response.facet_stats[field]);
      if (stat) stats[attribute] = stat;
    }
    const words = query.q.split(/\s+/).filter(Boolean).length;
    const hits =
      query.hitsPerPage > 0 && !call.noHits
        ? response.hits.map((hit) => this.hit(hit.document, hit, query, words))
        : [];
    const nbPages =
      query.hitsPerPage > 0
        ? Math.min(Math.ceil(response.total / query.hitsPerPage), Math.ceil(RESULT_WINDOW / query.hitsPerPage))
        : 0;
    return {
      hits,
      nbHits: response.total,
      page: query.page,
      nbPages,
      hitsPerPage: query.hitsPerPage,
      processingTimeMS: Math.round(response.took_ms),
      exhaustiveNbHits: true,
      exhaustiveFacetsCount: true,
      exhaustive: { nbHits: true, facetsCount: true },
      query: query.q,
      params: new URLSearchParams(
        Object.entries(query.params).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
      ).toString(),
      index: query.indexName,
      facets,
      facets_stats: stats,
      queryID: response.query_id,
      renderingContent: this.ordering(query, response),
    };
  }

  /** The facet value orders of the index's settings, for the facets the query counts. */
  private ordering(query: Parsed, response: SearchAnswer): SearchResult["renderingContent"] {
    const values: Record<string, { order: string[]; sortRemainingBy: "count" }> = {};
    for (const attribute of query.facets) {
      const order = response.facet_order?.[this.field(attribute)];
      if (order && this.categoryLevel(attribute) === undefined) values[attribute] = { order, sortRemainingBy: "count" };
    }
    return Object.keys(values).length ? { facetOrdering: { values } } : {};
  }

  /** A product as an InstantSearch hit. */
  hit(document: Product, hit: Hit | undefined, query: { pre: string; post: string; highlight: string[] }, words: number): InstantSearchHit {
    const levels = levelsOf(document.category);
    const hierarchical: Record<string, string> = {};
    levels.forEach((_, level) => {
      hierarchical[`lvl${level}`] = levels.slice(0, level + 1).join(this.separator);
    });
    const record: InstantSearchHit = {
      ...document.attributes,
      ...document,
      objectID: document.id,
      hierarchicalCategories: hierarchical,
      _highlightResult: {},
    };
    if (hit) {
      record._score = hit.score;
      if (hit.variant_id) record.variant_id = hit.variant_id;
      if (hit.pinned) record._pinned = true;
    }
    const attributes = new Set(["title", "brand", ...query.highlight]);
    for (const attribute of attributes) {
      const marked = hit?.highlight[attribute];
      if (marked !== undefined) {
        record._highlightResult[attribute] = highlightFrom(marked, query.pre, query.post, words);
      } else if (typeof record[attribute] === "string") {
        record._highlightResult[attribute] = { value: record[attribute] as string, matchLevel: "none", matchedWords: [] };
      }
    }
    return record;
  }

  /** One facet-value search. */
  async facetSearch(indexName: string, params: SearchParams, sent: { requests: number }): Promise<FacetSearchResult> {
    const { index } = this.target(indexName);
    const attribute = params.facetName;
    if (!attribute) throw new Error("Vitrine: a facet-value search needs `facetName`");
    const typed = params.facetQuery ?? "";
    const filter = this.filterOf(params);
    sent.requests++;
    const request: Parameters<Vitrine["facetValues"]>[2] = { q: typed, query: params.query ?? "", limit: Math.min(100, params.maxFacetHits ?? 10) };
    if (Object.keys(filter).length) request.filter = filter;
    const answer = await this.vitrine.facetValues(index, this.field(attribute), request);
    const pre = params.highlightPreTag ?? "<em>";
    const post = params.highlightPostTag ?? "</em>";
    return {
      facetHits: answer.values.map(({ value, count }) => ({ value, count, highlighted: highlightPrefixes(value, typed, pre, post) })),
      exhaustiveFacetsCount: true,
      processingTimeMS: Math.round(answer.took_ms),
    };
  }

  async searchForFacetValues(queries: Array<{ indexName: string; params: SearchParams | string }>): Promise<FacetSearchResult[]> {
    const sent = { requests: 0 };
    const answers = await Promise.all(queries.map((query) => this.facetSearch(query.indexName, readParams(query.params), sent)));
    this.onRequests?.({ method: "searchForFacetValues", requests: queries.length, vitrineRequests: sent.requests, cached: 0 });
    return answers;
  }

  /**
   * The Recommend widgets: one `POST /v1/indexes/{index}/recommendations` per query, with
   * `documents: true` so that each item carries its product and the hits need no more requests.
   * An item whose product is gone from the index (no `document`) is left out.
   */
  async getRecommendations(queries: RecommendQuery[]): Promise<{ results: RecommendResult[] }> {
    let requests = 0;
    const results = await Promise.all(
      queries.map(async (query): Promise<RecommendResult> => {
        const { index } = this.target(query.indexName || "");
        const none = { hits: [], nbHits: 0, processingTimeMS: 0, index: query.indexName };
        const kind = kindOf(query.model);
        if (!kind) {
          this.warn(`the Recommend model \`${query.model}\` has no Vitrine counterpart`);
          return none;
        }
        const filter = query.queryParameters ? this.filterOf(query.queryParameters) : {};
        if (query.facetName && query.facetValue !== undefined) {
          filter[this.field(query.facetName)] = [String(query.facetValue)];
        }
        const body: RecommendationRequest = { kind };
        if (kind !== "trending") body.product_id = query.objectID;
        if (query.maxRecommendations) body.k = Math.min(100, Math.max(1, query.maxRecommendations));
        if (Object.keys(filter).length) body.filter = filter;
        body.documents = true;
        const session = this.session();
        if (session) body.session_id = session;
        requests++;
        let answer: Recommendations;
        try {
          answer = await this.vitrine.recommendations(index, body);
        } catch (error) {
          // An index without a trained model has no recommendations yet: the widget shows none.
          if (error instanceof VitrineError && error.code === "model_not_trained") {
            this.warn(error.message);
            return none;
          }
          throw error;
        }
        const params = query.queryParameters ?? {};
        const tags = { pre: params.highlightPreTag ?? "<em>", post: params.highlightPostTag ?? "</em>", highlight: [] };
        const hits = answer.items.flatMap((item) => {
          if (!item.document) return [];
          const hit = this.hit(item.document, undefined, tags, 0);
          hit._score = item.score;
          hit._reason = item.reason;
          return [hit];
        });
        return { hits, nbHits: hits.length, processingTimeMS: Math.round(answer.took_ms), index: query.indexName };
      }),
    );
    this.onRequests?.({ method: "getRecommendations", requests: queries.length, vitrineRequests: requests, cached: 0 });
    return { results };
  }

  clearCache(): void {
    this.answers.clear();
    this.tree.clear();
  }
}

/**
 * The count of the selected category in the units of the category facet: facet counts count
 * variants while `total` counts families (variant collapsing), so the larger of the total and
 * the children's counts.
 */
function nodeCount(response: SearchAnswer): number {
  const children = Object.values(response.facets.category ?? {}).reduce((sum, count) => sum + count, 0);
  return Math.max(response.total, children);
}

/** A `facet_stats` value (the document gives them no schema): `{min, max}`, or nothing. */
function facetStats(value: unknown): FacetStats | undefined {
  const { min, max } = (value ?? {}) as { min?: unknown; max?: unknown };
  return typeof min === "number" && typeof max === "number" ? { min, max } : undefined;
}

function groupOf(query: { index: string; sort: SortOrder | undefined; q: string }): string {
  return `${query.index}\u0000${query.sort ?? ""}\u0000${query.q}`;
}

function treeKey(call: Call): string {
  const { category: _, ...rest } = call.filter;
  return `${call.index}\u0000${call.q}\u0000${canonical(rest)}`;
}

function truncate(counts: FacetCounts, max: number | undefined): FacetCounts {
  const entries = Object.entries(counts);
  if (max === undefined || entries.length <= max) return { ...counts };
  return Object.fromEntries(entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, max));
}

function kindOf(model: string): RecommendationKind | undefined {
  switch (model) {
    case "related-products":
    case "looking-similar":
      return "similar";
    case "bought-together":
      return "bought_together";
    case "trending-items":
      return "trending";
    default:
      return undefined;
  }
}

/**
 * An InstantSearch.js v4 `searchClient` over Vitrine: `instantsearch({ indexName: "fashion",
 * searchClient: instantSearchClient({ server, apiKey }) })`. Index names are Vitrine indexes,
 * with an optional sort for sortBy items (`fashion:price_asc`).
 */
export function instantSearchClient(options: InstantSearchClientOptions): InstantSearchClient {
  const adapter = new Adapter(options);
  return {
    search: (requests) => adapter.search(requests),
    searchForFacetValues: (queries) => adapter.searchForFacetValues(queries),
    getRecommendations: (queries) => adapter.getRecommendations(queries),
    clearCache: async () => adapter.clearCache(),
    vitrine: adapter.vitrine,
  };
}

