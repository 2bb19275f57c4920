"""The synchronous client of the Vitrine HTTP API."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload
from urllib.parse import quote

import httpx

from . import rows as _rows
from .errors import VitrineError
from .types import (
    ActivatedModel,
    AnalyticsReport,
    ApiKey,
    CreatedApiKey,
    Event,
    EventsResult,
    EventType,
    FacetValues,
    Filter,
    Health,
    IndexSummary,
    ModelVersions,
    Product,
    RecommendationKind,
    Recommendations,
    SearchResponse,
    SettingsPart,
    SettingsVersion,
    ShopperToken,
    SortOrder,
    Suggestions,
    UpsertResult,
)

if TYPE_CHECKING:
    import polars

__all__ = ["Client", "ImportSummary", "InteractionImportSummary", "RowError"]

#: The most events one request may carry (`MAX_EVENTS_PER_REQUEST` in `src/http/indexes/events.rs`).
MAX_EVENTS_PER_REQUEST = 1_000
#: The most documents one request may carry (`MAX_DOCUMENTS_PER_REQUEST` in `src/http/indexes/documents.rs`).
MAX_DOCUMENTS_PER_REQUEST = 100_000

OnError = Literal["collect", "raise"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class RowError:
    """A row the server refused: its position in the input (0-based), its id, and why."""

    row: int
    id: str | None
    code: str
    message: str


@dataclass
class ImportSummary:
    """What a batched document import did (the sums of the API's answers)."""

    rows: int = 0
    """Rows read from the input."""
    batches: int = 0
    """Requests the server accepted."""
    inserted: int = 0
    updated: int = 0
    stale: int = 0
    """Documents skipped because the stored version was newer."""
    errors: list[RowError] = field(default_factory=list)
    """Rows refused (``invalid_document``), each with the server's message."""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class InteractionImportSummary:
    """What a batched event import did (the sums of the API's answers)."""

    rows: int = 0
    batches: int = 0
    recorded: int = 0
    """Events stored for analytics."""
    capped: int = 0
    """Of those, events kept out of the interaction log by the per-shopper hourly budgets."""
    errors: list[RowError] = field(default_factory=list)
    """Rows refused (``invalid_event``), each with the server's message."""
    ignored_columns: list[str] = field(default_factory=list)
    """Input columns that fill no event field (``quantity``, ``basket_id`` ...)."""

    @property
    def ok(self) -> bool:
        return not self.errors


def _segment(value: str) -> str:
    return quote(value, safe="")


def _chunks(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    chunk: list[_T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _without_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if value is not None}


class Client:
    """A client of one Vitrine server.

    ``api_key`` is sent as ``Authorization: Bearer …``. With a ``shopper_token`` too, the calls a
    shopper makes (search, suggest, facet values, recommendations, events, reading indexes and
    documents) are sent with the token, as that shopper, and every other call with ``api_key``.

    Error answers raise :class:`VitrineError`; ``429 too_many_requests`` is retried after its
    ``Retry-After``, ``max_retries`` times, and a request whose kept-alive connection the server
    closed before answering is sent once more. Use it as a context manager, or call
    :meth:`close`.
    """

    def __init__(
        self,
        server: str,
        api_key: str | None = None,
        shopper_token: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        actor: str | None = None,
    ) -> None:
        """``actor`` names who changes settings, for the settings history (``X-Vitrine-Actor``)."""
        if max_retries < 0:
            raise ValueError("max_retries must be at least 0")
        self.server = server.rstrip("/")
        self._api_key = api_key
        self._shopper_token = shopper_token
        self._timeout = timeout
        self._max_retries = max_retries
        self._actor = actor
        self._http = httpx.Client(base_url=self.server, timeout=timeout)

    # -- plumbing --------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.server!r})"

    def as_shopper(self, shopper_token: str) -> Client:
        """A new client for the same server and key that acts as the token's shopper."""
        return Client(
            self.server,
            self._api_key,
            shopper_token,
            timeout=self._timeout,
            max_retries=self._max_retries,
            actor=self._actor,
        )

    def _headers(self, shopper: bool, actor: bool) -> dict[str, str]:
        credential = (self._shopper_token if shopper else None) or self._api_key or self._shopper_token
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        if actor and self._actor:
            name = self._actor
            headers["X-Vitrine-Actor"] = name if name.isascii() else quote(name, safe=" ")
        return headers

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        shopper: bool = False,
        actor: bool = False,
    ) -> Any:
        """Sends a request; the decoded JSON answer (``None`` for ``204``)."""
        headers = self._headers(shopper, actor)
        query = _without_none(params) if params else None
        attempt, resent = 0, False
        while True:
            try:
                response = self._http.request(method, path, json=json, params=query, headers=headers)
            except httpx.RemoteProtocolError:
                # A kept-alive connection the server closed as the request went out, unanswered
                # (it closes one after answering a request without reading its body: a refused
                # key, a rate limit): sent once more, on a new connection.
                if resent:
                    raise
                resent = True
                continue
            if response.status_code == 429 and attempt < self._max_retries:
                time.sleep(self._retry_delay(response, attempt))
                attempt += 1
                continue
            break
        if response.status_code >= 400:
            raise VitrineError.from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    @staticmethod
    def _retry_delay(response: httpx.Response, attempt: int) -> float:
        try:
            delay = float(response.headers.get("retry-after", ""))
        except ValueError:
            delay = 0.25 * 2**attempt
        return min(max(delay, 0.05), 30.0)

    @staticmethod
    def _index(index: str, *rest: str) -> str:
        return "/".join(["/v1/indexes", _segment(index), *(_segment(part) for part in rest)])

    # -- health ----------------------------------------------------------------------------

    def health(self) -> Health:
        """``GET /health``: whether the server is up and ready (answered even while starting)."""
        return cast(Health, self._http.get("/health").json())

    def wait_until_ready(self, timeout: float = 30.0, interval: float = 0.1) -> Health:
        """Polls ``GET /health/ready`` until it answers 200; ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = self._http.get("/health/ready")
                if response.status_code == 200:
                    return cast(Health, response.json())
            except httpx.TransportError:
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.server} was not ready within {timeout} s")
            time.sleep(interval)

    # -- indexes ---------------------------------------------------------------------------

    def list_indexes(self) -> list[IndexSummary]:
        """Every index with its product count."""
        return cast(list[IndexSummary], self._request("GET", "/v1/indexes", shopper=True)["results"])

    def get_index(self, index: str) -> IndexSummary:
        return cast(IndexSummary, self._request("GET", self._index(index), shopper=True))

    def delete_index(self, index: str) -> None:
        """Deletes an index with its documents, settings, models and analytics."""
        self._request("DELETE", self._index(index))

    # -- search ----------------------------------------------------------------------------

    def search(
        self,
        index: str,
        q: str = "",
        *,
        filter: Filter | None = None,  # noqa: A002
        facets: Sequence[str] | None = None,
        sort: SortOrder | str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> SearchResponse:
        """``POST /v1/indexes/{index}/search``. An empty ``q`` browses by popularity.

        ``user_id`` needs a key that may act for shoppers (a shopper token names its own);
        ``session_id`` names the shopper's session (experiments) and is sent only when given.
        """
        body = _without_none(
            {
                "q": q,
                "filter": filter,
                "facets": list(facets) if facets is not None else None,
                "sort": sort,
                "page": page,
                "per_page": per_page,
                "user_id": user_id,
                "session_id": session_id,
            }
        )
        return cast(SearchResponse, self._request("POST", self._index(index, "search"), json=body, shopper=True))

    def suggest(self, index: str, q: str, limit: int | None = None) -> Suggestions:
        """Autocomplete: completed queries and the best products for what was typed."""
        params = {"q": q, "limit": limit}
        return cast(Suggestions, self._request("GET", self._index(index, "suggest"), params=params, shopper=True))

    def facet_values(
        self,
        index: str,
        facet: str,
        q: str = "",
        *,
        query: str = "",
        filter: Filter | None = None,  # noqa: A002
        limit: int | None = None,
    ) -> FacetValues:
        """The values of one facet that start with ``q`` (a brand picker's search box), counted
        over the products matching the search ``query`` and ``filter``."""
        body = _without_none({"q": q, "query": query, "filter": filter, "limit": limit})
        path = self._index(index, "facets", facet, "values")
        return cast(FacetValues, self._request("POST", path, json=body, shopper=True))

    def recommendations(
        self,
        index: str,
        kind: RecommendationKind | str,
        *,
        product_id: str | None = None,
        product_ids: Sequence[str] | None = None,
        user_id: str | None = None,
        k: int | None = None,
        filter: Filter | None = None,  # noqa: A002
        session_id: str | None = None,
        **params: Any,
    ) -> Recommendations:
        """``POST /v1/indexes/{index}/recommendations``.

        ``similar`` and ``bought_together`` need ``product_id``, ``cart`` needs ``product_ids``,
        ``for_user`` a shopper (``user_id`` from a server-side key, or a shopper token);
        ``trending`` nothing. ``k`` is 1 to 100 (default 10). ``session_id`` is sent only when
        given; other keyword arguments are sent as they are.
        """
        body = _without_none(
            {
                "kind": kind,
                "product_id": product_id,
                "product_ids": list(product_ids) if product_ids is not None else None,
                "user_id": user_id,
                "k": k,
                "filter": filter,
                "session_id": session_id,
                **params,
            }
        )
        path = self._index(index, "recommendations")
        return cast(Recommendations, self._request("POST", path, json=body, shopper=True))

    # -- documents -------------------------------------------------------------------------

    def get_document(self, index: str, id: str) -> Product:  # noqa: A002
        return cast(Product, self._request("GET", self._index(index, "documents", id), shopper=True))

    def delete_document(self, index: str, id: str) -> None:  # noqa: A002
        self._request("DELETE", self._index(index, "documents", id))

    def upsert_documents(
        self,
        index: str,
        documents: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = 1_000,
        on_error: OnError = "collect",
    ) -> ImportSummary:
        """Upserts products by id (a newer ``version`` wins), ``batch_size`` per request,
        creating the index if needed.

        The server refuses a whole request for one invalid document. With
        ``on_error="collect"`` the refused batch is split until the invalid documents stand
        alone: the others are stored and each refused one is listed in ``errors`` with its row
        and the server's message. With ``"raise"`` the first refusal raises
        :class:`VitrineError` (earlier batches stay stored).
        """
        if not 1 <= batch_size <= MAX_DOCUMENTS_PER_REQUEST:
            raise ValueError(f"batch_size must be between 1 and {MAX_DOCUMENTS_PER_REQUEST}")
        summary = ImportSummary()
        path = self._index(index, "documents")

        def send(batch: list[dict[str, Any]]) -> Mapping[str, Any]:
            return cast(UpsertResult, self._request("POST", path, json=batch))

        numbered = ((row, dict(document)) for row, document in enumerate(documents))
        for batch in _chunks(numbered, batch_size):
            summary.rows += len(batch)
            answers, errors = self._send_splitting(batch, send, "invalid_document", on_error, "id")
            for answer in answers:
                summary.batches += 1
                summary.inserted += answer["inserted"]
                summary.updated += answer["updated"]
                summary.stale += answer["stale"]
            summary.errors.extend(errors)
        return summary

    def import_products(
        self,
        index: str,
        frame_or_records: _rows.FrameOrRecords,
        *,
        batch_size: int = 1_000,
        currency: str | None = None,
        extra_columns: _rows.ExtraColumns = "attributes",
        on_error: OnError = "collect",
    ) -> ImportSummary:
        """Imports products from a polars or pandas DataFrame, or an iterable of dicts.

        Columns named like product fields (``id``, ``title``, ``description``, ``brand``,
        ``category`` (``"home/kitchen"`` or a list), ``price`` with ``currency``, ``stock``,
        ``popularity``, ``margin``, ``rating``, ``rating_count``, ``image_url``, ``url``,
        ``parent_id``, ``created_at``, ``version``, ``attributes`` (a dict or struct)) fill those
        fields; every other column becomes an attribute (or, with
        ``extra_columns="ignore"``, is left out). ``currency`` applies to rows with a price but
        no currency. Missing cells (None, NaN, NaT) are left out; integer ids become text.
        Batches and errors as in :meth:`upsert_documents`.
        """
        documents = (
            _rows.to_product(row, currency=currency, extra_columns=extra_columns)
            for row in _rows.iter_records(frame_or_records)
        )
        return self.upsert_documents(index, documents, batch_size=batch_size, on_error=on_error)

    def _send_splitting(
        self,
        batch: list[tuple[int, dict[str, Any]]],
        send: Callable[[list[dict[str, Any]]], Mapping[str, Any]],
        refused: str,
        on_error: OnError,
        id_field: str,
    ) -> tuple[list[Mapping[str, Any]], list[RowError]]:
        """Sends a batch; a batch refused for one of its items (``refused``, when collecting) or
        for its size is split in two and each half sent, down to single items."""
        try:
            return [send([item for _, item in batch])], []
        except VitrineError as error:
            collect = error.code == refused and on_error == "collect"
            if len(batch) == 1 and collect:
                row, item = batch[0]
                item_id = item.get(id_field)
                return [], [RowError(row, item_id if isinstance(item_id, str) else None, error.code, error.message)]
            if len(batch) == 1 or not (collect or error.code == "payload_too_large"):
                raise
        middle = len(batch) // 2
        first = self._send_splitting(batch[:middle], send, refused, on_error, id_field)
        second = self._send_splitting(batch[middle:], send, refused, on_error, id_field)
        return first[0] + second[0], first[1] + second[1]

    # -- events ----------------------------------------------------------------------------

    def record_events(self, index: str, events: Event | Sequence[Event] | Sequence[Mapping[str, Any]]) -> EventsResult:
        """Records one event or a list of at most 1,000 (``202 {"recorded", "capped"}``).

        An event is ``{"type": "view" | "click" | "add_to_cart" | "purchase", "product_id",
        "query_id"?, "user_id"?, "session_id"?, "position"?, "timestamp"?}``; ``user_id`` needs a
        key that may act for shoppers (a shopper token's events are its shopper's).
        """
        body: Any = dict(events) if isinstance(events, Mapping) else [dict(event) for event in events]
        return cast(EventsResult, self._request("POST", self._index(index, "events"), json=body, shopper=True))

    def import_interactions(
        self,
        index: str,
        frame_or_records: _rows.FrameOrRecords,
        *,
        batch_size: int = MAX_EVENTS_PER_REQUEST,
        event_type: EventType | None = None,
        columns: Mapping[str, str] | None = None,
        on_error: OnError = "collect",
    ) -> InteractionImportSummary:
        """Posts shopper events from a polars or pandas DataFrame, or an iterable of dicts.

        Columns fill the event fields ``type`` (or ``event``, ``event_type``, ``kind``),
        ``product_id`` (or ``item_id``), ``user_id``, ``session_id``, ``timestamp`` (datetimes,
        dates, RFC 3339 text or Unix seconds; naive datetimes are UTC), ``query_id`` and
        ``position``; ``columns`` renames others (``{"customer": "user_id"}``). The remaining
        columns are ignored and listed in the summary. ``event_type`` is the type of rows without
        one (a purchase log). ``user_id`` needs a key that may act for shoppers. Events naming
        a shopper also feed the interaction log that recommendations train on.
        Batches and errors as in :meth:`upsert_documents`.
        """
        if not 1 <= batch_size <= MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"batch_size must be between 1 and {MAX_EVENTS_PER_REQUEST}")
        summary = InteractionImportSummary()
        path = self._index(index, "events")
        fields: dict[str, str] | None = None
        ignored: dict[str, None] = {}

        def send(batch: list[dict[str, Any]]) -> Mapping[str, Any]:
            return cast(EventsResult, self._request("POST", path, json=batch, shopper=True))

        def events() -> Iterator[tuple[int, dict[str, Any]]]:
            nonlocal fields
            for row, record in enumerate(_rows.iter_records(frame_or_records)):
                if fields is None or any(name not in fields and name not in ignored for name in record):
                    fields = _rows.event_columns(record, columns)
                    ignored.update((name, None) for name in record if name not in fields)
                yield row, _rows.to_event(record, fields, event_type=event_type)

        for batch in _chunks(events(), batch_size):
            summary.rows += len(batch)
            answers, errors = self._send_splitting(batch, send, "invalid_event", on_error, "product_id")
            for answer in answers:
                summary.batches += 1
                summary.recorded += answer["recorded"]
                summary.capped += answer["capped"]
            summary.errors.extend(errors)
        summary.ignored_columns = list(ignored)
        return summary

    # -- settings --------------------------------------------------------------------------

    def get_settings(self, index: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._request("GET", self._index(index, "settings")))

    def put_settings(self, index: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Replaces the whole settings (missing parts take their defaults), creating the index
        if needed; saved as a new version."""
        path = self._index(index, "settings")
        return cast(dict[str, Any], self._request("PUT", path, json=dict(settings), actor=True))

    def reset_settings(self, index: str) -> dict[str, Any]:
        """Every part back to its default."""
        return cast(dict[str, Any], self._request("DELETE", self._index(index, "settings"), actor=True))

    def get_settings_part(self, index: str, part: SettingsPart | str) -> Any:
        """One part: ``typo_tolerance``, ``ranking``, ``facets``, ``synonyms``, ``rules``,
        ``variants``, ``default_currency``, ``display``, ``language`` or ``field_languages``."""
        return self._request("GET", self._index(index, "settings", part))

    def put_settings_part(self, index: str, part: SettingsPart | str, value: Any) -> Any:
        """Replaces one part, keeping the others; answers the part as saved."""
        return self._request("PUT", self._index(index, "settings", part), json=value, actor=True)

    def reset_settings_part(self, index: str, part: SettingsPart | str) -> Any:
        return self._request("DELETE", self._index(index, "settings", part), actor=True)

    def settings_history(self, index: str) -> list[SettingsVersion]:
        """Every saved version, newest first."""
        return cast(list[SettingsVersion], self._request("GET", self._index(index, "settings", "history")))

    def restore_settings(self, index: str, version: int) -> dict[str, Any]:
        """Brings a saved version back (recorded as a new version)."""
        path = f"{self._index(index, 'settings', 'history')}/{int(version)}/restore"
        return cast(dict[str, Any], self._request("POST", path, actor=True))

    def preview_settings(
        self,
        index: str,
        q: str,
        draft: Mapping[str, Any],
        *,
        per_page: int | None = None,
        filter: Filter | None = None,  # noqa: A002
    ) -> dict[str, SearchResponse]:
        """One query answered with the live settings and with a draft laid over them, unsaved:
        ``{"live": …, "draft": …}``."""
        body = _without_none({"q": q, "draft": dict(draft), "per_page": per_page, "filter": filter})
        return cast(
            dict[str, SearchResponse], self._request("POST", self._index(index, "settings", "preview"), json=body)
        )

    def evaluate_settings(
        self,
        index: str,
        draft: Mapping[str, Any],
        judgments: str,
        *,
        typos: bool | None = None,
        gain: str | None = None,
    ) -> dict[str, Any]:
        """The offline evaluation of a draft against the live settings on judgments (CSV text:
        ``query_id,query,product_id,relevance``)."""
        body = _without_none({"draft": dict(draft), "judgments": judgments, "typos": typos, "gain": gain})
        return cast(dict[str, Any], self._request("POST", self._index(index, "settings", "evaluate"), json=body))

    # -- analytics -------------------------------------------------------------------------

    @overload
    def analytics(
        self, index: str, *, days: int | None = ..., limit: int | None = ..., as_frame: Literal[False] = ...
    ) -> AnalyticsReport: ...

    @overload
    def analytics(
        self, index: str, *, days: int | None = ..., limit: int | None = ..., as_frame: Literal[True]
    ) -> dict[str, polars.DataFrame]: ...

    def analytics(
        self, index: str, *, days: int | None = None, limit: int | None = None, as_frame: bool = False
    ) -> AnalyticsReport | dict[str, polars.DataFrame]:
        """The search analytics of the last ``days`` days (default all time), ``limit`` entries
        per list (default 10). With ``as_frame=True``: polars DataFrames ``summary``, ``events``,
        ``top_queries`` and ``zero_result_queries``."""
        params = {"days": days, "limit": limit}
        report = cast(AnalyticsReport, self._request("GET", self._index(index, "analytics"), params=params))
        if not as_frame:
            return report
        from .frames import analytics_frames

        return analytics_frames(report)

    # -- experiments -----------------------------------------------------------------------

    def create_experiment(
        self,
        index: str,
        name: str,
        variants: Sequence[Mapping[str, Any]],
        *,
        kind: Literal["ab", "interleaving"] = "ab",
        surface: str | None = None,
        primary_metric: str | None = None,
        alpha: float | None = None,
    ) -> dict[str, Any]:
        """Starts an online experiment (docs/experiments.md): ``variants`` are
        ``{"name", "weight"?, "settings": "live" | {draft parts}, "model_version"?}``, the first
        being the control. Answers the experiment with its (empty) results."""
        body = _without_none(
            {
                "name": name,
                "kind": kind,
                "surface": surface,
                "variants": [dict(variant) for variant in variants],
                "primary_metric": primary_metric,
                "alpha": alpha,
            }
        )
        return cast(dict[str, Any], self._request("POST", self._index(index, "experiments"), json=body))

    def list_experiments(self, index: str) -> list[dict[str, Any]]:
        """The index's experiments, newest first."""
        answer = cast(dict[str, Any], self._request("GET", self._index(index, "experiments")))
        return cast(list[dict[str, Any]], answer["results"])

    def get_experiment(self, index: str, experiment_id: str) -> dict[str, Any]:
        """The experiment with its results as of now."""
        return cast(dict[str, Any], self._request("GET", self._index(index, "experiments", experiment_id)))

    def stop_experiment(self, index: str, experiment_id: str) -> dict[str, Any]:
        """Stops it; shoppers see the live settings again. Answers it with its results."""
        return cast(dict[str, Any], self._request("POST", self._index(index, "experiments", experiment_id, "stop")))

    def promote_experiment(self, index: str, experiment_id: str, variant: str) -> dict[str, Any]:
        """Publishes ``variant`` (its draft as a settings version, or its model version) and
        stops the experiment."""
        path = self._index(index, "experiments", experiment_id, "promote")
        return cast(dict[str, Any], self._request("POST", path, json={"variant": variant}, actor=True))

    # -- models ----------------------------------------------------------------------------

    def list_models(self, index: str) -> ModelVersions:
        """The kept recommendation model versions (manifests) and which one is served."""
        return cast(ModelVersions, self._request("GET", self._index(index, "models")))

    def activate_model(self, index: str, model_id: str) -> ActivatedModel:
        """Serves that model version from now on (roll back or forward)."""
        path = self._index(index, "models", model_id, "activate")
        return cast(ActivatedModel, self._request("POST", path))

    # -- operations: aliases and snapshots ------------------------------------------------

    def put_alias(self, alias: str, index: str) -> dict[str, Any]:
        """Points ``alias`` at ``index`` (creating or switching it, atomically); every index
        method takes the alias. Returns ``{"alias", "index", "previous"}``."""
        path = f"/v1/aliases/{_segment(alias)}"
        return cast(dict[str, Any], self._request("PUT", path, json={"index": index}))

    def get_alias(self, alias: str) -> dict[str, Any]:
        """``{"alias", "index"}``."""
        return cast(dict[str, Any], self._request("GET", f"/v1/aliases/{_segment(alias)}"))

    def list_aliases(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._request("GET", "/v1/aliases"))

    def delete_alias(self, alias: str) -> None:
        """Deletes the alias (its index stays)."""
        self._request("DELETE", f"/v1/aliases/{_segment(alias)}")

    def create_snapshot(self) -> dict[str, Any]:
        """Writes a snapshot of the server's data directory while it serves; returns
        ``{"archive", "archive_bytes", "seconds", "manifest"}`` once the archive is whole."""
        return cast(dict[str, Any], self._request("POST", "/v1/admin/snapshots"))

    def list_snapshots(self) -> list[dict[str, Any]]:
        """The snapshots of the server's snapshot folder, oldest first."""
        return cast(list[dict[str, Any]], self._request("GET", "/v1/admin/snapshots"))

    # -- keys and shopper tokens -----------------------------------------------------------

    def create_key(
        self,
        name: str,
        actions: Sequence[str],
        indexes: Sequence[str] = ("*",),
        *,
        expires_at: dt.datetime | str | None = None,
    ) -> CreatedApiKey:
        """A key for ``actions`` (``search``, ``documents.write``, ``settings.write``, ``*`` ...)
        on the indexes matching ``indexes`` (names, ``prefix*``, ``*``). Its secret, ``key``, is
        in this answer only."""
        if isinstance(expires_at, dt.datetime):
            expires_at = _rows.timestamp(expires_at)
        body = _without_none(
            {"name": name, "actions": list(actions), "indexes": list(indexes), "expires_at": expires_at}
        )
        return cast(CreatedApiKey, self._request("POST", "/v1/keys", json=body))

    def list_keys(self) -> list[ApiKey]:
        return cast(list[ApiKey], self._request("GET", "/v1/keys")["results"])

    def get_key(self, key_id: str) -> ApiKey:
        return cast(ApiKey, self._request("GET", f"/v1/keys/{_segment(key_id)}"))

    def delete_key(self, key_id: str) -> None:
        """Revokes a key (its shopper tokens stop working with it)."""
        self._request("DELETE", f"/v1/keys/{_segment(key_id)}")

    def current_key(self) -> dict[str, Any]:
        """What the presented credential may do: ``{"id", "actions", "indexes", "user_id"}``."""
        return cast(dict[str, Any], self._request("GET", "/v1/keys/self", shopper=True))

    def create_shopper_token(
        self,
        user_id: str,
        *,
        expires_in_seconds: int | None = None,
        filter: Filter | None = None,  # noqa: A002
    ) -> ShopperToken:
        """A token, signed with this client's key, that lets a browser act as the shopper
        ``user_id`` (search, recommendations, events, carts); ``filter`` restricts every search
        and recommendation of the token. One hour by default, 30 days at most."""
        body = _without_none({"user_id": user_id, "expires_in_seconds": expires_in_seconds, "filter": filter})
        return cast(ShopperToken, self._request("POST", "/v1/shopper-tokens", json=body))
