"""polars DataFrames of what the server reports: the analytics tables and the offline evaluation
reports of ``vitrine eval``. polars is imported when one is asked for (the ``dataframes`` extra)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .types import AnalyticsReport

if TYPE_CHECKING:
    import polars


def _polars() -> Any:
    try:
        import polars
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("DataFrames need polars: pip install 'vitrine-client[dataframes]'") from error
    return polars


def analytics_frames(report: AnalyticsReport) -> dict[str, polars.DataFrame]:
    """The tables of an analytics report (``GET /v1/indexes/{index}/analytics``):

    - ``summary``: one row, the counts and rates (``total_searches`` ... ``conversion_rate``);
    - ``events``: ``kind``, ``count``, one row per event kind;
    - ``top_queries``: ``query``, ``count``, ``average_result_count``, ``clicked_searches``,
      ``click_through_rate``;
    - ``zero_result_queries``: ``query``, ``count``.

    Each has its schema even when empty.
    """
    pl = _polars()
    summary_schema = {
        "days": pl.Int64,
        "total_searches": pl.Int64,
        "searches_with_results": pl.Int64,
        "searches_without_results": pl.Int64,
        "clicked_searches": pl.Int64,
        "converted_searches": pl.Int64,
        "click_through_rate": pl.Float64,
        "conversion_rate": pl.Float64,
    }
    summary: Mapping[str, Any] = report
    top_queries_schema = {
        "query": pl.String,
        "count": pl.Int64,
        "average_result_count": pl.Float64,
        "clicked_searches": pl.Int64,
        "click_through_rate": pl.Float64,
    }
    return {
        "summary": pl.DataFrame([{name: summary.get(name) for name in summary_schema}], schema=summary_schema),
        "events": pl.DataFrame(
            {"kind": list(report["events"]), "count": list(report["events"].values())},
            schema={"kind": pl.String, "count": pl.Int64},
        ),
        "top_queries": pl.DataFrame(
            [{name: row.get(name) for name in top_queries_schema} for row in report["top_queries"]],
            schema=top_queries_schema,
        ),
        "zero_result_queries": pl.DataFrame(
            [{"query": row["query"], "count": row["count"]} for row in report["zero_result_queries"]],
            schema={"query": pl.String, "count": pl.Int64},
        ),
    }


#: The files `vitrine eval recs` and `vitrine eval search` write into their `--out` folder.
REPORT_FILES = ("recs-report.json", "search-report.json")


def load_eval_report(path: str | os.PathLike[str]) -> polars.DataFrame:
    """The JSON report of ``vitrine eval recs`` or ``vitrine eval search`` as a polars DataFrame,
    one row per model (or configuration) or per run.

    ``path`` is the report file or the ``--out`` folder the command wrote it to
    (``recs-report.json``, else ``search-report.json``).

    - A recommendation report (``{"split", "ks", "models": [...]}``, ``eval/src/recs/evaluate.rs``)
      gives ``model``, ``train_seconds``, ``eval_seconds``, one column per metric (``ndcg@10``,
      ``recall@20``, ``map@10``, ``hitrate@10``, ``coverage@10``, ``gini@10``, ``novelty@10``,
      ...), ``popularity_deciles`` (a list) and ``recall_curve`` (a list of ``{k, recall}``),
      then the split's ``cutoff``.
    - A search report (``{"runs": {label: report}, "comparison"}``,
      ``src/commands/eval/search.rs``) gives ``run`` (``live, as typed`` ...), ``engine``,
      ``variant``, ``cutoff``, ``ndcg``, ``mrr``, ``recall``, ``zero_results`` (means), the number
      of queries each mean is over (``ndcg_queries`` ...), ``typo_unchanged`` and ``queries``.
    """
    pl = _polars()
    file = Path(path)
    if file.is_dir():
        found = next((file / name for name in REPORT_FILES if (file / name).is_file()), None)
        if found is None:
            raise FileNotFoundError(f"{file} has no evaluation report ({' or '.join(REPORT_FILES)})")
        file = found
    report = json.loads(file.read_text(encoding="utf-8"))
    if isinstance(report, dict) and isinstance(report.get("models"), list):
        rows = [_recs_row(line, report.get("split") or {}) for line in report["models"]]
    elif isinstance(report, dict) and isinstance(report.get("runs"), dict):
        rows = [_search_row(label, run) for label, run in report["runs"].items()]
    else:
        raise ValueError(f"{file}: not a report of `vitrine eval recs` or `vitrine eval search`")
    frame: polars.DataFrame = pl.from_dicts(rows, infer_schema_length=None)
    return frame


def _recs_row(line: Mapping[str, Any], split: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in line.items():
        if name == "recall_curve":
            row[name] = [{"k": int(k), "recall": float(recall)} for k, recall in value]
        elif name == "popularity_deciles":
            row[name] = [float(share) for share in value]
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and name != "model":
            row[name] = float(value)
        else:
            row[name] = value
    row["cutoff"] = split.get("cutoff")
    return row


def _search_row(label: str, run: Mapping[str, Any]) -> dict[str, Any]:
    engine, _, variant = label.partition(", ")
    row: dict[str, Any] = {
        "run": label,
        "engine": engine,
        "variant": variant or (run.get("variant") or {}).get("kind"),
        "cutoff": run.get("cutoff"),
    }
    for metric in ("ndcg", "mrr", "recall", "zero_results"):
        mean = run.get(metric) or {}
        row[metric] = None if mean.get("mean") is None else float(mean["mean"])
        row[f"{metric}_queries"] = mean.get("queries")
    row["typo_unchanged"] = run.get("typo_unchanged")
    row["queries"] = len(run.get("per_query") or [])
    return row
