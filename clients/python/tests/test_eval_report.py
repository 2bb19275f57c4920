"""`load_eval_report` on reports the real `vitrine eval` writes (each run takes well under a
second on these tiny inputs)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import subprocess
from pathlib import Path

import polars as pl
import pytest

from vitrine import load_eval_report
from vitrine.rows import to_product

from .catalog import PRODUCTS


def run(binary: Path, data_dir: Path, *args: str) -> None:
    finished = subprocess.run(
        [str(binary), "--data-dir", str(data_dir), *args], capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, f"vitrine {' '.join(args)}:\n{finished.stdout}\n{finished.stderr}"


def write_interactions(path: Path) -> None:
    """40 shoppers each buying from 6 favourite products of 20, one a day for 10 days."""
    rng = random.Random(7)
    items = [f"p{number}" for number in range(20)]
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["user_id", "product_id", "timestamp", "quantity"])
        for user in range(40):
            favourites = rng.sample(items, 6)
            for day in range(10):
                at = start + dt.timedelta(days=day, hours=user % 24)
                writer.writerow([f"u{user}", rng.choice(favourites), at.isoformat(), 1])


def test_a_recommendation_report_has_one_row_per_model(vitrine_bin: Path, tmp_path: Path) -> None:
    interactions = tmp_path / "interactions.csv"
    write_interactions(interactions)
    out = tmp_path / "out"
    models = ["--models", "pop,cooc,ease", "--k", "5,10"]
    run(vitrine_bin, tmp_path / "data", "eval", "recs", "--interactions", str(interactions), *models, "--out", str(out))
    frame = load_eval_report(out)
    assert frame["model"].to_list() == ["popularity", "cooc", "ease"]
    for metric in ("ndcg", "recall", "map", "hitrate", "coverage", "gini"):
        for k in (5, 10):
            values = frame[f"{metric}@{k}"]
            assert values.dtype == pl.Float64 and values.is_between(0.0, 1.0).all(), f"{metric}@{k}"
    assert frame.schema["recall_curve"] == pl.List(pl.Struct({"k": pl.Int64, "recall": pl.Float64}))
    assert frame["popularity_deciles"].list.len().to_list() == [10, 10, 10]
    assert frame["cutoff"].unique().to_list() == ["2025-01-09T00:00:00Z"]

    written = json.loads((out / "recs-report.json").read_text())
    by_model = {line["model"]: line for line in written["models"]}
    for row in frame.iter_rows(named=True):
        assert row["ndcg@10"] == pytest.approx(by_model[row["model"]]["ndcg@10"])
        assert row["recall@5"] == pytest.approx(by_model[row["model"]]["recall@5"])
    assert load_eval_report(out / "recs-report.json").equals(frame)


def test_a_search_report_has_one_row_per_run(vitrine_bin: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    products = tmp_path / "products.jsonl"
    products.write_text("".join(json.dumps(to_product(row)) + "\n" for row in PRODUCTS))
    run(vitrine_bin, data, "import", "products", "--index", "shop", str(products))
    judgments = tmp_path / "judgments.csv"
    judgments.write_text(
        "query_id,query,product_id,relevance\n"
        "1,heart holder,85123A,3\n1,heart holder,21730,2\n"
        "2,lamp,71053,3\n"
        "3,retrospot lunch bag,20725,3\n3,retrospot lunch bag,22138,1\n"
    )
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"synonyms": [{"type": "multi_way", "terms": ["lantern", "lamp"]}]}))
    out = tmp_path / "out"
    judged = ["--index", "shop", "--judgments", str(judgments), "--typos", "--settings", str(draft)]
    run(vitrine_bin, data, "eval", "search", *judged, "--out", str(out))
    frame = load_eval_report(out)
    assert frame["run"].to_list() == ["draft, as typed", "draft, one typo", "live, as typed", "live, one typo"]
    assert frame["engine"].to_list() == ["draft", "draft", "live", "live"]
    assert frame["variant"].to_list() == ["as typed", "one typo"] * 2
    assert frame["queries"].to_list() == [3, 3, 3, 3]
    assert frame["cutoff"].unique().to_list() == [10]
    as_typed = frame.filter(pl.col("variant") == "as typed")
    live, draft_run = (as_typed.filter(pl.col("engine") == engine).row(0, named=True) for engine in ("live", "draft"))
    assert draft_run["recall"] > live["recall"], "the synonym finds the lantern for `lamp`"
    assert 0.0 <= live["ndcg"] <= 1.0 and live["ndcg_queries"] == 3


def test_a_file_that_is_no_report_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(ValueError, match="not a report"):
        load_eval_report(other)
    with pytest.raises(FileNotFoundError):
        load_eval_report(tmp_path)
