// @vitrine/client: the Vitrine API client and the InstantSearch.js adapter.
export { Vitrine, VitrineError } from "./client.js";
export type { CallOptions, Fetch, VitrineOptions } from "./client.js";
export { instantSearchClient, highlightPrefixes } from "./instantsearch.js";
export type {
  FacetHit,
  FacetSearchResult,
  HighlightResult,
  InstantSearchClient,
  InstantSearchClientOptions,
  InstantSearchHit,
  RecommendQuery,
  RecommendResult,
  RequestsEvent,
  SearchParams,
  SearchQuery,
  SearchResult,
} from "./instantsearch.js";
export type * from "./schema.js";
