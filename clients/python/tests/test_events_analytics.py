"""Shopper events imported from frames, and the analytics report as DataFrames."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pandas as pd
import polars as pl
import pytest

from vitrine import Client, analytics_frames

from .catalog import PRODUCTS


@pytest.fixture
def fresh(admin: Client, request: pytest.FixtureRequest) -> Iterator[str]:
    """An index of its own (analytics count per index)."""
    index = f"fresh_{request.node.name[:40]}".replace("[", "_").replace("]", "")
    admin.import_products(index, PRODUCTS)
    yield index
    admin.delete_index(index)


def test_interactions_are_imported_from_a_polars_frame(admin: Client, fresh: str) -> None:
    start = dt.datetime(2025, 3, 1, 9, 30)
    frame = pl.DataFrame(
        {
            "user_id": [17850, 17850, 13047, 13047, 12583, 12583],
            "product_id": ["85123A", "71053", "85123A", "22960", "22138", "20725"],
            "event": ["view", "click", "add_to_cart", "purchase", "purchase", "clik"],
            "timestamp": [start + dt.timedelta(hours=hours) for hours in range(6)],
            "quantity": [1, 1, 2, 2, 6, 1],
        }
    )
    summary = admin.import_interactions(fresh, frame, batch_size=4)
    assert summary.rows == 6 and summary.recorded == 5
    assert summary.ignored_columns == ["quantity"]
    assert [(error.row, error.id, error.code) for error in summary.errors] == [(5, "20725", "invalid_event")]
    assert "clik" in summary.errors[0].message
    events = admin.analytics(fresh)["events"]
    assert events == {"view": 1, "click": 1, "add_to_cart": 1, "purchase": 2}


def test_a_purchase_log_from_pandas_takes_the_default_type_and_renamed_columns(admin: Client, fresh: str) -> None:
    frame = pd.DataFrame(
        {
            "Customer ID": [13085.0, 13085.0, 15362.0],
            "StockCode": ["85123A", "84879", "22752"],
            "InvoiceDate": pd.to_datetime(["2010-09-01 08:26", "2010-09-01 08:26", "2010-09-02 10:00"]),
        }
    )
    summary = admin.import_interactions(
        fresh,
        frame,
        event_type="purchase",
        columns={"Customer ID": "user_id", "StockCode": "product_id", "InvoiceDate": "timestamp"},
    )
    assert (summary.recorded, summary.errors, summary.ignored_columns) == (3, [], [])
    assert admin.analytics(fresh)["events"]["purchase"] == 3


def test_analytics_come_back_as_polars_frames(admin: Client, search_client: Client, fresh: str) -> None:
    lantern = search_client.search(fresh, "lantern")
    search_client.search(fresh, "lantern")
    search_client.search(fresh, "heart")
    search_client.search(fresh, "zzqx nothing")
    search_client.record_events(
        fresh,
        {"type": "click", "product_id": "71053", "query_id": lantern["query_id"], "position": 1, "session_id": "s-1"},
    )

    # Searches are logged in the background, without slowing them down: wait for the four.
    deadline = time.monotonic() + 15
    while (report := admin.analytics(fresh))["total_searches"] < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert report["total_searches"] == 4

    frames = admin.analytics(fresh, as_frame=True)
    assert set(frames) == {"summary", "events", "top_queries", "zero_result_queries"}
    summary = frames["summary"].row(0, named=True)
    assert (summary["total_searches"], summary["searches_without_results"], summary["clicked_searches"]) == (4, 1, 1)
    assert summary["click_through_rate"] == pytest.approx(1 / 3)

    top = frames["top_queries"]
    assert top.columns == ["query", "count", "average_result_count", "clicked_searches", "click_through_rate"]
    assert top.row(0, named=True)["query"] == "lantern"
    assert top.filter(pl.col("query") == "lantern")["count"].item() == 2
    assert top.filter(pl.col("query") == "lantern")["click_through_rate"].item() == pytest.approx(0.5)
    assert frames["zero_result_queries"].to_dicts() == [{"query": "zzqx nothing", "count": 1}]
    events = dict(frames["events"].iter_rows())
    assert events["click"] == 1 and events["purchase"] == 0

    assert analytics_frames(report)["summary"]["total_searches"].item() == 4


def test_an_empty_report_still_has_typed_frames(admin: Client, fresh: str) -> None:
    frames = admin.analytics(fresh, days=7, limit=5, as_frame=True)
    assert frames["top_queries"].height == 0
    assert frames["top_queries"].schema["click_through_rate"] == pl.Float64
    assert frames["summary"]["click_through_rate"].to_list() == [None]
