"""Product imports from DataFrames, batches and refused rows, one document read and deleted."""

from __future__ import annotations

import math

import pandas as pd
import polars as pl
import pytest

from vitrine import Client, ImportSummary, VitrineError

from .catalog import PRODUCTS


def test_the_shop_is_imported_from_a_polars_frame_in_batches(
    admin: Client, shop: str, shop_import: ImportSummary, products_frame: pl.DataFrame
) -> None:
    assert shop_import.errors == []
    assert shop_import.rows == products_frame.height == len(PRODUCTS)
    assert shop_import.inserted == len(PRODUCTS)
    assert shop_import.batches == math.ceil(len(PRODUCTS) / 5)
    summary = admin.get_index(shop)
    assert (summary["name"], summary["products"]) == (shop, len(PRODUCTS))
    assert shop in {summary["name"] for summary in admin.list_indexes()}


def test_a_polars_row_becomes_the_product_the_documents_api_stores(admin: Client, shop: str) -> None:
    product = admin.get_document(shop, "85123A")
    assert product["title"] == "White hanging heart T-light holder"
    assert product["brand"] == "Vitrine Gifts"
    assert product["price"] == pytest.approx(2.55)
    assert product["currency"] == "GBP"
    assert product["stock"] == 12
    assert product["attributes"] == {"colour": "white"}, "a column that is no product field is an attribute"


def test_a_pandas_frame_with_gaps_and_integer_ids_is_imported(admin: Client, search_client: Client) -> None:
    index = "pandas_shop"
    frame = pd.DataFrame(
        {
            "id": [1001, 1002, 1003],
            "title": ["Enamel mug", "Enamel teapot", "Stoneware bowl"],
            "brand": ["Falcon", None, "Potter & Co"],
            "price": [8.5, 24.0, None],
            "stock": [4.0, None, 0.0],
            "material": ["enamel", "enamel", None],
            "created_at": pd.to_datetime(["2024-03-01", "2024-04-01", None]),
        }
    )
    summary = admin.import_products(index, frame, currency="EUR")
    assert (summary.inserted, summary.updated, summary.errors) == (3, 0, [])
    try:
        mug = admin.get_document(index, "1001")
        assert mug["price"] == pytest.approx(8.5) and mug["currency"] == "EUR"
        assert mug["stock"] == 4 and mug["attributes"] == {"material": "enamel"}
        assert mug["created_at"].startswith("2024-03-01T00:00:00")
        teapot = admin.get_document(index, "1002")
        assert "brand" not in teapot and "stock" not in teapot, "NaN and None cells are left out"
        bowl = admin.get_document(index, "1003")
        assert "price" not in bowl and "currency" not in bowl and "attributes" not in bowl
        # Searchable with the public key, typo and all.
        hits = search_client.search(index, "enamle mug")["hits"]
        assert hits[0]["id"] == "1001"
    finally:
        admin.delete_index(index)
    with pytest.raises(VitrineError) as gone:
        admin.get_index(index)
    assert gone.value.code == "index_not_found"


def test_refused_rows_are_listed_and_the_rest_is_stored(admin: Client) -> None:
    index = "refusals"
    rows = [
        {"id": "a", "title": "Apple crate", "price": 3.0, "currency": "GBP"},
        {"id": "b", "title": "Birch tray", "price": 9.0, "currency": "GBP"},
        {"id": "c", "title": "Cedar box", "price": 5.0},  # a price needs its currency
        {"id": "d", "title": "Dust pan", "price": 2.0, "currency": "GBP"},
        {"id": "e", "title": "   "},  # a title must not be blank
        {"id": "f", "title": "Fir cone wreath", "stock": 2},
        {"id": "g", "title": "Garden twine", "price": -1.0, "currency": "GBP"},  # at least 0
    ]
    try:
        summary = admin.import_products(index, rows, batch_size=7)
        assert summary.inserted == 4
        assert [(error.row, error.id, error.code) for error in summary.errors] == [
            (2, "c", "invalid_document"),
            (4, "e", "invalid_document"),
            (6, "g", "invalid_document"),
        ]
        assert "currency" in summary.errors[0].message
        assert "title" in summary.errors[1].message
        assert admin.get_index(index)["products"] == 4

        with pytest.raises(VitrineError) as refused:
            admin.import_products(index, rows, on_error="raise")
        assert (refused.value.status, refused.value.code) == (400, "invalid_document")
    finally:
        admin.delete_index(index)


def test_upserts_replace_and_skip_stale_versions(admin: Client) -> None:
    index = "versions"
    try:
        first = admin.upsert_documents(index, [{"id": "p1", "title": "Mug", "version": 2}])
        assert (first.inserted, first.updated, first.stale) == (1, 0, 0)
        newer = admin.upsert_documents(index, [{"id": "p1", "title": "Big mug", "version": 3}])
        older = admin.upsert_documents(index, [{"id": "p1", "title": "Old mug", "version": 1}])
        assert (newer.updated, older.stale) == (1, 1)
        assert admin.get_document(index, "p1")["title"] == "Big mug"
    finally:
        admin.delete_index(index)


def test_a_document_is_read_and_deleted_even_with_a_slash_in_its_id(admin: Client, shop: str) -> None:
    summary = admin.upsert_documents(shop, [{"id": "tmp/1", "title": "Temporary tea towel"}])
    assert summary.inserted == 1
    assert admin.get_document(shop, "tmp/1")["title"] == "Temporary tea towel"
    admin.delete_document(shop, "tmp/1")
    for call in (admin.get_document, admin.delete_document):
        with pytest.raises(VitrineError) as missing:
            call(shop, "tmp/1")
        assert (missing.value.status, missing.value.code) == (404, "document_not_found")
