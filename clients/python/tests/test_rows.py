"""Frame cells to API JSON, without a server: what reaches the documents and events APIs."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from vitrine.rows import event_columns, iter_records, plain, to_event, to_product


def test_numpy_and_pandas_cells_become_plain_json() -> None:
    assert plain(np.int64(3)) == 3 and type(plain(np.int64(3))) is int
    assert plain(np.float32(0.5)) == 0.5
    assert plain(np.bool_(True)) is True
    assert plain(np.array(["a", "b"])) == ["a", "b"]
    for missing in (None, float("nan"), np.nan, pd.NA, pd.NaT, np.float64("nan")):
        assert plain(missing) is None, repr(missing)
    assert plain(pd.Timestamp("2024-01-02 03:04:05")) == dt.datetime(2024, 1, 2, 3, 4, 5)


def test_a_row_becomes_a_product_with_its_other_columns_as_attributes() -> None:
    row = {
        "id": 42.0,
        "title": "Enamel mug",
        "price": np.int64(8),
        "stock": 3.0,
        "category": np.array(["kitchen", "mugs"]),
        "colour": "blue",
        "sizes": ["S", None, "M"],
        "organic": np.bool_(False),
        "blank": "  ",
        "brand": float("nan"),
        "created_at": dt.date(2024, 5, 1),
        "attributes": {"material": "enamel", "weight": None},
    }
    product = to_product(row, currency="EUR")
    assert product == {
        "id": "42",
        "title": "Enamel mug",
        "price": 8.0,
        "currency": "EUR",
        "stock": 3,
        "category": ["kitchen", "mugs"],
        "created_at": "2024-05-01T00:00:00+00:00",
        "attributes": {"colour": "blue", "sizes": ["S", "M"], "organic": False, "material": "enamel"},
    }
    json.dumps(product)
    assert "attributes" not in to_product({"id": "1", "title": "t", "colour": "red"}, extra_columns="ignore")
    assert to_product({"id": "1", "title": "t", "price": 2.0, "currency": "GBP"}, currency="EUR")["currency"] == "GBP"


def test_frames_and_records_are_read_row_by_row() -> None:
    rows = [{"id": "a", "n": 1}, {"id": "b", "n": None}]
    assert list(iter_records(pl.DataFrame(rows))) == rows
    assert list(iter_records(pl.DataFrame(rows).lazy())) == rows
    assert list(iter_records(row for row in rows)) == rows
    pandas_rows = list(iter_records(pd.DataFrame(rows)))
    assert pandas_rows[0] == {"id": "a", "n": 1.0} and plain(pandas_rows[1]["n"]) is None
    with pytest.raises(TypeError):
        list(iter_records({"id": "a"}))
    with pytest.raises(TypeError):
        list(iter_records(["a"]))


def test_event_columns_take_names_aliases_and_renames() -> None:
    columns = event_columns(["customer", "item_id", "event", "timestamp", "quantity"], {"customer": "user_id"})
    assert columns == {"customer": "user_id", "item_id": "product_id", "event": "type", "timestamp": "timestamp"}
    assert event_columns(["type", "event"]) == {"type": "type"}, "a field's own column wins over an alias"
    row = {"customer": 17850, "item_id": "85123A", "event": "view", "timestamp": 1_700_000_000, "quantity": 2}
    assert to_event(row, columns) == {
        "user_id": "17850",
        "product_id": "85123A",
        "type": "view",
        "timestamp": "2023-11-14T22:13:20+00:00",
    }
    assert to_event({"item_id": "p"}, {"item_id": "product_id"}, event_type="purchase") == {
        "product_id": "p",
        "type": "purchase",
    }
