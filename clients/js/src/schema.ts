// The Vitrine HTTP API's types: every request and answer body the client sends or reads.
//
// They are the OpenAPI document's (docs/openapi.json, generated from the server's Rust types):
// `npm run generate` (run by every build) writes them to openapi.gen.ts, and this file names the
// ones the client uses. A change of the API that breaks the client fails its build. Only what the
// document leaves untyped is written by hand below (the filter object, the sort orders, the facet
// statistics): the document types those as any JSON value or any string, so these are narrower
// helpers for building requests and reading answers, never a contradiction of the document.

import type { components, operations } from "./openapi.gen.js";

/** The whole generated document: every schema, path and operation (the commerce API's too). */
export type { components, operations, paths } from "./openapi.gen.js";

type Schemas = components["schemas"];

// ─── Errors ──────────────────────────────────────────────────────────────────────────────────

/** Every error answer: `{"message", "code", "type"}`. `message` is for people and may change. */
export type ErrorBody = Schemas["Error"];
/** The stable error codes; clients may match on them. */
export type ErrorCode = ErrorBody["code"];
/** The family of an error: fix the request, fix the key, retry later, or a server bug. */
export type ErrorType = ErrorBody["type"];

// ─── Products ────────────────────────────────────────────────────────────────────────────────

/** An attribute's value: a flag, a number, a text or several texts. */
export type AttributeValue = Schemas["AttributeValue"];
/** A category path: `"home/kitchen/knives"` or `["home", "kitchen", "knives"]`. */
export type CategoryInput = Schemas["CategoryInput"];
/** A product as the API shows it (`GET …/documents/{id}`, a hit's `document`). */
export type Product = Schemas["Product"];
/** A product as shops send it (`POST …/documents`): only `id` and `title` are required. */
export type ProductDraft = Schemas["ProductDraft"];

// ─── Search ──────────────────────────────────────────────────────────────────────────────────

/** The body of `POST /v1/indexes/{index}/search`. */
export type SearchRequest = Schemas["SearchRequest"];
/** One result. */
export type Hit = Schemas["Hit"];
/** The answer to a search, without its `query_id` (as a settings preview gives it). */
export type SearchResponse = Schemas["SearchResponse"];
/** The answer of `POST /v1/indexes/{index}/search`: a `SearchResponse` with its `query_id`. */
export type SearchAnswer = Schemas["SearchAnswer"];
/** Value → count of one facet. The category facet is keyed by path (`Men/Tops`). */
export type FacetCounts = SearchResponse["facets"][string];

/** The query string of `GET /v1/indexes/{index}/suggest`. */
export type SuggestRequest = NonNullable<operations["suggest"]["parameters"]["query"]>;
/** The answer of `GET /v1/indexes/{index}/suggest`. */
export type Suggestions = Schemas["Suggestions"];

/** The body of `POST /v1/indexes/{index}/facets/{facet}/values`. */
export type FacetValuesRequest = Schemas["FacetValuesRequest"];
/** One value of a facet with its count. */
export type FacetValue = Schemas["FacetValue"];
/** The answer of `POST /v1/indexes/{index}/facets/{facet}/values`. */
export type FacetValues = Schemas["FacetValues"];

// Written by hand: the document types `filter` as any JSON value and `sort` as any string, and
// gives `facet_stats` values no schema (the server's types are `serde_json::Value` and `String`).

/** A numeric range: any of `gt`/`gte` and `lt`/`lte` (not both of a pair), at least one. */
export interface RangeFilter {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/**
 * One field's filter: a value or a list of values (OR), a range (`price`, `rating`), or a flag
 * (`in_stock`). `category` takes a path, `"home/kitchen"`.
 */
export type FilterValue = string | string[] | RangeFilter | boolean;

/**
 * A filter object (`filter` of a search, a facet-value search, a recommendation request, a
 * preview): `{"brand": ["A", "B"], "price": {"gte": 10, "lt": 50}, "category": "home/kitchen",
 * "in_stock": true, "colour": ["red"]}`. Values in a list are OR, fields are AND; attributes must
 * be declared in the index's `facets.attributes`. At most 100 values in all.
 */
export type Filter = Record<string, FilterValue>;

/** The sort orders of a search (`sort`). */
export type SortOrder = "relevance" | "price_asc" | "price_desc" | "popularity" | "newest";

/** Statistics of a numeric facet (`facet_stats.price`); absent when nothing matches. */
export interface FacetStats {
  min: number;
  max: number;
}

// ─── Recommendations ─────────────────────────────────────────────────────────────────────────

/** What is asked: `similar` and `bought_together` need `product_id`, `for_user` a shopper, `cart` `product_ids`. */
export type RecommendationKind = Schemas["Kind"];
/** The body of `POST /v1/indexes/{index}/recommendations`. */
export type RecommendationRequest = Schemas["RecommendationRequest"];
/** Why a product is recommended. */
export type RecommendationReason = Schemas["Reason"];
/** One recommended product. */
export type Recommendation = Schemas["Recommendation"];
/** One recommended product, with its `document` when the request asked for `documents`. */
export type RecommendedItem = Schemas["RecommendedItem"];
/** The answer of `POST /v1/indexes/{index}/recommendations`. */
export type Recommendations = Schemas["Recommendations"];

// ─── Events ──────────────────────────────────────────────────────────────────────────────────

/** What the shopper did: `view`, `click`, `add_to_cart`, `purchase`. */
export type InteractionKind = Schemas["InteractionKind"];
/** One shopper event. Unknown fields are refused. */
export type EventBody = Schemas["EventBody"];
/** The body of `POST /v1/indexes/{index}/events`: one event or up to 1,000. */
export type EventsBody = Schemas["EventsBody"];
/** The answer of `POST /v1/indexes/{index}/events` (202). */
export type EventsRecorded = Schemas["EventsRecorded"];

// ─── Documents ───────────────────────────────────────────────────────────────────────────────

/** The answer of `POST /v1/indexes/{index}/documents`. */
export type Upserted = Schemas["Upserted"];
/** The body formats of a documents upsert; `Content-Type` is the document's for each. */
export type DocumentsFormat = "json" | "ndjson" | "csv";

// ─── Indexes ─────────────────────────────────────────────────────────────────────────────────

/** An index name: 1–64 ASCII letters, digits, `-` or `_`. */
export type IndexName = Schemas["IndexName"];
/** One index with its sizes. */
export type IndexSummary = Schemas["IndexSummary"];
/** The answer of `GET /v1/indexes`. */
export type IndexList = Schemas["IndexList"];

// ─── Settings ────────────────────────────────────────────────────────────────────────────────

export type TypoTolerance = Schemas["TypoTolerance"];
export type RankingWeights = Schemas["RankingWeights"];
/** `count`, `alpha` or `natural`. */
export type NamedValueOrder = Schemas["NamedValueOrder"];
/** The order of a facet's values: a named order, or the listed values first, the others by count. */
export type ValueOrder = Schemas["ValueOrder"];
export type FacetSettings = Schemas["FacetSettings"];
/** How a storefront presents an index. */
export type DisplaySettings = Schemas["DisplaySettings"];
export type Synonym = Schemas["Synonym"];
export type QueryMatch = Schemas["QueryMatch"];
export type RuleCondition = Schemas["RuleCondition"];
export type Pin = Schemas["Pin"];
export type FilterBoost = Schemas["FilterBoost"];
/** A merchandising rule. */
export type Rule = Schemas["Rule"];
export type VariantSettings = Schemas["VariantSettings"];
/** All settings of one index; a part left out takes its default. */
export type IndexSettings = Schemas["IndexSettings"];

/** The parts of the settings, each readable and replaceable on its own (`…/settings/{part}`). */
export type SettingsPart = operations["getSettingsPart"]["parameters"]["path"]["part"];
/**
 * The value of each settings part, as in the whole settings (the document gives the part
 * endpoints no schema of their own). Indexing `IndexSettings` by the document's part names
 * fails the build if they stop matching.
 */
export type SettingsPartValue<P extends SettingsPart> = Exclude<IndexSettings[P], undefined>;

/** One saved settings version (`GET …/settings/history`, newest first). */
export type SettingsVersion = Schemas["SettingsVersion"];
/** The body of `POST /v1/indexes/{index}/settings/preview`. */
export type PreviewRequest = Schemas["PreviewRequest"];
/** The answer of `POST /v1/indexes/{index}/settings/preview`: the search answered both ways. */
export type Preview = Schemas["Preview"];
/** The body of `POST /v1/indexes/{index}/settings/evaluate`. */
export type EvaluateRequest = Schemas["EvaluateRequest"];
/** One metric, live against draft. */
export type ComparisonRow = Schemas["ComparisonRow"];
/** A query whose NDCG@10 the draft changes. */
export type ChangedQuery = Schemas["ChangedQuery"];
/** The answer of `POST /v1/indexes/{index}/settings/evaluate`. */
export type Evaluation = Schemas["Evaluation"];
