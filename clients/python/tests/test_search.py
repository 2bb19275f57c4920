"""Search with typos, facets and filters, autocomplete, facet values, sessions for experiments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl
import pytest

from vitrine import Client, VitrineError

from .conftest import Server


def test_a_misspelled_query_finds_the_product(search_client: Client, shop: str) -> None:
    result = search_client.search(shop, "hart holdr", per_page=5)
    assert result["hits"][0]["id"] == "85123A"
    assert "<em>" in result["hits"][0]["highlight"]["title"]
    assert result["query_id"]
    assert search_client.search(shop, "lantrn")["hits"][0]["id"] == "71053"


def test_facet_counts_match_the_frame_and_a_filter_narrows_them(
    search_client: Client, shop: str, products_frame: pl.DataFrame
) -> None:
    result = search_client.search(shop, facets=["brand", "colour"], per_page=50)
    assert result["total"] == products_frame.height
    expected = dict(products_frame.group_by("brand").len().iter_rows())
    assert result["facets"]["brand"] == expected
    assert result["facets"]["colour"] == dict(products_frame.group_by("colour").len().iter_rows())

    kitchen = search_client.search(shop, filter={"brand": ["Kitchen Co"]}, facets=["brand", "colour"])
    assert kitchen["total"] == expected["Kitchen Co"] == 3
    assert {hit["document"]["brand"] for hit in kitchen["hits"]} == {"Kitchen Co"}
    assert kitchen["facets"]["brand"] == expected, "a facet's counts ignore its own selection"
    assert kitchen["facets"]["colour"] == {"red": 3}

    cheap_red = search_client.search(shop, filter={"colour": ["red"], "price": {"lt": 2.0}})
    assert sorted(hit["id"] for hit in cheap_red["hits"]) == ["20725", "22633"]


def test_sort_and_paging(search_client: Client, shop: str) -> None:
    prices = [hit["document"]["price"] for hit in search_client.search(shop, sort="price_asc", per_page=50)["hits"]]
    assert prices == sorted(prices)
    page = search_client.search(shop, sort="price_asc", page=2, per_page=5)
    assert len(page["hits"]) == 5 and page["hits"][0]["document"]["price"] == prices[5]


def test_suggest_completes_the_last_word(search_client: Client, shop: str) -> None:
    suggestions = search_client.suggest(shop, "lunch ba", limit=3)
    # The last word is completed from title words alone (`lunch babushka` comes first today),
    # the products match the whole text.
    assert "lunch bag" in suggestions["queries"]
    assert suggestions["products"][0]["id"] == "20725"
    assert search_client.suggest(shop, "lanter")["queries"][0] == "lantern"


def test_facet_values_of_a_brand_picker(search_client: Client, shop: str) -> None:
    answer = search_client.facet_values(shop, "brand", "kit")
    assert answer["facet"] == "brand"
    assert answer["values"] == [{"value": "Kitchen Co", "count": 3}]
    assert answer["took_ms"] >= 0
    within = search_client.facet_values(shop, "brand", query="retrospot", filter={"colour": ["red"]}, limit=5)
    assert within["values"] == [{"value": "Kitchen Co", "count": 2}]
    assert search_client.facet_values(shop, "colour", "r")["values"] == [{"value": "red", "count": 5}]


@pytest.mark.parametrize("call", ["search", "recommendations"])
def test_a_session_id_is_sent_only_when_given(admin: Client, shop: str, call: str) -> None:
    # Without one the request is today's (the server refuses unknown fields, so this would fail
    # if `session_id: null` were sent); with one, the server reads it or names it as unknown.
    def run(session_id: str | None) -> object:
        if call == "search":
            return admin.search(shop, "lantern", session_id=session_id)
        return admin.recommendations(shop, "trending", session_id=session_id)

    def outcome(session_id: str | None) -> str:
        try:
            run(session_id)
        except VitrineError as error:
            if error.code == "malformed_payload":
                assert "session_id" in error.message
            return error.code
        return "ok"

    accepted = {"search": "ok", "recommendations": "model_not_trained"}[call]
    assert outcome(None) == accepted
    assert outcome("session-42") in (accepted, "malformed_payload")


def test_rate_limited_requests_are_retried_after_their_retry_after(admin: Client, server: Server, shop: str) -> None:
    # A key of its own: budgets are per key and client address (20 searches/s, bursts of 60).
    key = admin.create_key("burst", ["search"], [shop])
    try:
        with Client(server.url, api_key=key["key"], max_retries=0) as impatient:

            def suggest(_: int) -> str:
                try:
                    impatient.suggest(shop, "la")
                except VitrineError as error:
                    assert (error.status, error.type) == (429, "system")
                    return error.code
                return "ok"

            with ThreadPoolExecutor(8) as pool:
                outcomes = list(pool.map(suggest, range(200)))
        assert set(outcomes) == {"ok", "too_many_requests"}
        with Client(server.url, api_key=key["key"], max_retries=5) as patient:
            assert patient.suggest(shop, "lanter")["queries"] == ["lantern"]
    finally:
        admin.delete_key(key["id"])
