"""The shapes of the API's requests and answers, as ``TypedDict``s.

They describe the JSON the server sends today (``src/http/`` and the crates it calls); at run time
they are plain ``dict``s, so a field the server adds later is still there, just not typed.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypeAlias, TypedDict

JSON: TypeAlias = Any
"""Any JSON value."""

Filter: TypeAlias = dict[str, Any]
"""A search filter: ``{"brand": ["A", "B"], "price": {"gte": 10, "lt": 50}, "in_stock": True}``."""

EventType: TypeAlias = Literal["view", "click", "add_to_cart", "purchase"]
RecommendationKind: TypeAlias = Literal["similar", "bought_together", "for_user", "cart", "trending"]
SortOrder: TypeAlias = Literal["relevance", "price_asc", "price_desc", "popularity", "newest"]
SettingsPart: TypeAlias = Literal[
    "typo_tolerance",
    "ranking",
    "facets",
    "synonyms",
    "rules",
    "variants",
    "default_currency",
    "display",
    "language",
    "field_languages",
]


class Product(TypedDict, total=False):
    """A product as the documents API takes and gives it (``models/src/product.rs``)."""

    id: Required[str]
    title: Required[str]
    description: str
    brand: str
    category: str | list[str]
    price: float
    currency: str
    attributes: dict[str, bool | float | str | list[str]]
    stock: int
    popularity: float
    margin: float
    rating: float
    rating_count: int
    image_url: str
    url: str
    parent_id: str
    created_at: str
    version: int


class Health(TypedDict):
    status: str
    live: bool
    ready: bool
    version: str


class Display(TypedDict, total=False):
    """How a storefront presents an index (the ``display`` settings)."""

    title: str
    search_placeholder: str
    facet_labels: dict[str, str]


class IndexSummary(TypedDict):
    name: str
    products: int
    interaction_parts: int
    display: NotRequired[Display]


class UpsertResult(TypedDict):
    inserted: int
    updated: int
    stale: int


class SearchHit(TypedDict):
    id: str
    score: float
    document: Product
    highlight: dict[str, str]
    variant_id: NotRequired[str]
    pinned: NotRequired[bool]


class ExperimentTag(TypedDict):
    """Which experiment and variant answered (``"interleaved"`` for interleaving)."""

    id: str
    variant: str


class SearchResponse(TypedDict):
    hits: list[SearchHit]
    total: int
    facets: dict[str, dict[str, int]]
    facet_stats: dict[str, Any]
    took_ms: float
    query_id: str
    ignored_words: NotRequired[list[str]]
    applied_rules: NotRequired[list[str]]
    experiment: NotRequired[ExperimentTag]


class Suggestions(TypedDict):
    queries: list[str]
    products: list[SearchHit]


class FacetValue(TypedDict):
    value: str
    count: int


class FacetValues(TypedDict):
    facet: str
    values: list[FacetValue]
    took_ms: float


class Recommendation(TypedDict):
    id: str
    score: float
    reason: str


class Recommendations(TypedDict):
    items: list[Recommendation]
    model_version: str
    took_ms: float
    query_id: NotRequired[str]
    experiment: NotRequired[ExperimentTag]


class Event(TypedDict, total=False):
    """A shopper event as ``POST /v1/indexes/{index}/events`` takes it."""

    type: Required[EventType]
    product_id: Required[str]
    query_id: str
    user_id: str
    session_id: str
    position: int
    timestamp: str


class EventsResult(TypedDict):
    recorded: int
    capped: int


class TopQuery(TypedDict):
    query: str
    count: int
    average_result_count: float
    clicked_searches: int
    click_through_rate: float | None


class ZeroResultQuery(TypedDict):
    query: str
    count: int


class AnalyticsReport(TypedDict):
    days: int | None
    total_searches: int
    searches_with_results: int
    searches_without_results: int
    clicked_searches: int
    converted_searches: int
    click_through_rate: float | None
    conversion_rate: float | None
    events: dict[str, int]
    top_queries: list[TopQuery]
    zero_result_queries: list[ZeroResultQuery]


class SettingsVersion(TypedDict):
    version: int
    at: str
    actor: str
    changed: list[str]
    restored_from: int | None
    settings: dict[str, Any]


class ModelVersions(TypedDict):
    current: str | None
    versions: list[dict[str, Any]]
    """The manifests of every kept version, oldest first."""


class ActivatedModel(TypedDict):
    current: str
    manifest: dict[str, Any]


class ApiKey(TypedDict):
    id: str
    name: str
    actions: list[str]
    indexes: list[str]
    expires_at: str | None
    created_at: str
    prefix: str


class CreatedApiKey(ApiKey):
    key: str
    """The secret, shown this once."""


class ShopperToken(TypedDict):
    token: str
    user_id: str
    expires_at: str | None
