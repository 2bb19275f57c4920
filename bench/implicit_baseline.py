#!/usr/bin/env python3
"""The `implicit` yardstick: the recommendation protocol of docs/evaluation.md, re-implemented
independently with pandas/numpy, run on popularity, implicit's ALS and BM25 item-kNN, and EASE.

Same filters, same cutoff, same weights (distinct baskets per user x item), same test users, same
full-catalogue ranking (own train items excluded, ties by item id) and the same metrics as the Rust
crate vitrine-eval (`vitrine_eval::recs`), so its popularity line must equal the Rust one exactly.

    python bench/implicit_baseline.py                       # Online Retail II, cutoff 2010-09-01
    python bench/implicit_baseline.py --threads 2           # + ALS seconds/iteration, 2 threads, BLAS 1
    python bench/implicit_baseline.py --interactions x.csv --cutoff auto   # a generic CSV, 0.8 rule

See bench/README.md for the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--online-retail",
        default="../shared/datasets/online-retail-ii/online_retail_II_2009-2010.csv.gz",
        help="the Online Retail II file (default: %(default)s, relative to the workspace root)",
    )
    source.add_argument("--interactions", help="a generic interactions CSV instead (user_id, product_id|item_id, timestamp, ...)")
    parser.add_argument(
        "--cutoff",
        default=None,
        help="ISO 8601 date/time (UTC) or Unix seconds; 'auto' = the timestamp at index floor(0.8 n). "
        "Default: 2010-09-01 for Online Retail II, auto for --interactions",
    )
    parser.add_argument("--ks", default="10,20", help="rank cut-offs (default: %(default)s)")
    parser.add_argument(
        "--models",
        default="popularity,ials,bm25,ease",
        help="comma-separated subset of popularity,ials,bm25,ease (default: %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads for implicit (0 = all cores). When set, BLAS is limited to 1 thread and ALS "
        "seconds/iteration are measured at 64 factors",
    )
    parser.add_argument(
        "--json",
        default=os.path.join(tempfile.gettempdir(), "implicit_baseline.json"),
        help="where to write the JSON report (default: %(default)s)",
    )
    return parser.parse_args(argv)


ARGS = parse_args(sys.argv[1:])
if ARGS.threads:
    # Must happen before numpy loads its BLAS.
    for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[variable] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

TRAIN_FRACTION = 0.8
ONLINE_RETAIL_CUTOFF = "2010-09-01"


# ---------------------------------------------------------------------------------------------
# Loading: one frame with columns user, item, basket (strings) and ts (int64 Unix seconds).


def _read_strings(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])


def _unix_seconds(times: pd.Series) -> pd.Series:
    return times.astype("datetime64[ms]").astype("int64") // 1000


def load_online_retail(path: str) -> tuple[pd.DataFrame, int]:
    raw = _read_strings(path)
    customer = raw["Customer ID"].str.strip().str.removesuffix(".0")
    quantity = pd.to_numeric(raw["Quantity"].str.strip(), errors="raise")
    invoice = raw["Invoice"].str.strip()
    stock_code = raw["StockCode"].str.strip()
    keep = (customer != "") & (quantity > 0) & ~invoice.str.startswith("C") & stock_code.str.match(r"^[0-9]")
    times = pd.to_datetime(raw.loc[keep, "InvoiceDate"].str.strip(), format="%Y-%m-%d %H:%M:%S")
    frame = pd.DataFrame(
        {"user": customer[keep], "item": stock_code[keep], "basket": invoice[keep], "ts": _unix_seconds(times)}
    )
    return frame.reset_index(drop=True), len(raw)


def load_interactions(path: str) -> tuple[pd.DataFrame, int]:
    raw = _read_strings(path)
    first = lambda names: next((name for name in names if name in raw.columns), None)  # noqa: E731
    user, item, ts = first(["user_id"]), first(["product_id", "item_id"]), first(["timestamp"])
    if user is None or item is None or ts is None:
        sys.exit(f"{path}: needs user_id, product_id|item_id and timestamp columns; has {list(raw.columns)}")
    basket, weight = first(["basket_id", "order_id"]), first(["weight", "quantity"])
    rows_read = len(raw)
    keep = pd.Series(True, index=raw.index)
    if weight is not None:
        values = pd.to_numeric(raw[weight].str.strip().replace("", np.nan), errors="raise")
        keep &= values.isna() | (values > 0)
    raw = raw[keep].reset_index(drop=True)
    stamps = raw[ts].str.strip()
    if stamps.str.fullmatch(r"-?\d+").all():
        seconds = stamps.astype("int64")
    else:
        parsed = pd.to_datetime(stamps, format="ISO8601", utc=True)
        seconds = _unix_seconds(parsed.dt.tz_localize(None))
    frame = pd.DataFrame(
        {
            "user": raw[user].str.strip(),
            "item": raw[item].str.strip(),
            "basket": raw[basket].str.strip() if basket else raw.index.astype(str),
            "ts": seconds,
        }
    )
    frame = frame[(frame.user != "") & (frame.item != "") & (stamps != "")]
    return frame.reset_index(drop=True), rows_read


def parse_cutoff(text: str, frame: pd.DataFrame) -> int:
    if text == "auto":
        stamps = np.sort(frame.ts.to_numpy())
        index = min(int(np.floor(TRAIN_FRACTION * len(stamps))), len(stamps) - 1)
        return int(stamps[index])
    if text.lstrip("-").isdigit():
        return int(text)
    stamp = pd.Timestamp(text)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.value // 10**9)


# ---------------------------------------------------------------------------------------------
# The split.


class Split:
    def __init__(self, frame: pd.DataFrame, cutoff: int, rows_read: int):
        self.cutoff = cutoff
        train = frame[frame.ts < cutoff]
        test = frame[frame.ts >= cutoff]
        if train.empty:
            sys.exit("no row before the cutoff")
        # Dense ids in sorted (code point = UTF-8 byte) order, as the Rust side does.
        self.user_ids = np.array(sorted(train.user.unique()), dtype=object)
        self.item_ids = np.array(sorted(train.item.unique()), dtype=object)
        user_index = pd.Series(np.arange(len(self.user_ids)), index=self.user_ids)
        item_index = pd.Series(np.arange(len(self.item_ids)), index=self.item_ids)

        pairs = train.groupby(["user", "item"]).basket.nunique().rename("weight").reset_index()
        rows = user_index[pairs.user].to_numpy()
        cols = item_index[pairs.item].to_numpy()
        self.X = sp.csr_matrix(
            (pairs.weight.to_numpy(np.float32), (rows, cols)), shape=(len(self.user_ids), len(self.item_ids))
        )
        self.X.sort_indices()

        seen = set(zip(pairs.user, pairs.item))
        test_pairs = test[["user", "item"]].drop_duplicates()
        test_pairs = test_pairs[test_pairs.user.isin(user_index.index)]
        new = [(u, i) for u, i in zip(test_pairs.user, test_pairs.item) if (u, i) not in seen]
        relevant: dict[str, set[str]] = {}
        for user, item in new:
            relevant.setdefault(user, set()).add(item)
        ordered = sorted(relevant)
        self.test_users = user_index[ordered].to_numpy() if ordered else np.array([], dtype=np.int64)
        self.relevant = [relevant[user] for user in ordered]
        if not self.relevant:
            sys.exit("no test user")
        known = set(self.item_ids)
        self.stats = {
            "cutoff": pd.Timestamp(cutoff, unit="s").strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cutoff_unix": int(cutoff),
            "rows_read": int(rows_read),
            "rows": int(len(frame)),
            "train_rows": int(len(train)),
            "test_rows": int(len(test)),
            "train_users": int(len(self.user_ids)),
            "train_items": int(len(self.item_ids)),
            "train_pairs": int(self.X.nnz),
            "train_baskets": int(train[["user", "basket"]].drop_duplicates().shape[0]),
            "test_users": len(self.relevant),
            "mean_relevant_per_user": float(np.mean([len(items) for items in self.relevant])),
            "relevant_unseen_in_train": int(sum(len(items - known) for items in self.relevant)),
        }


# ---------------------------------------------------------------------------------------------
# Ranking and metrics.


def rank(split: Split, scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Top k per test user by decreasing score, ties by increasing item id, own train items excluded."""
    scores = np.asarray(scores, dtype=np.float64)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    history = split.X[split.test_users]
    rankings = []
    for row in range(len(split.test_users)):
        owned = history.indices[history.indptr[row] : history.indptr[row + 1]]
        candidates = np.setdiff1d(np.arange(scores.shape[1]), owned, assume_unique=True)
        order = np.argsort(-scores[row, candidates], kind="stable")[:k]
        rankings.append(candidates[order])
    return rankings


def popularity_ranks(counts: np.ndarray) -> np.ndarray:
    order = np.lexsort((np.arange(len(counts)), -counts))
    ranks = np.empty(len(counts), dtype=np.int64)
    ranks[order] = np.arange(1, len(counts) + 1)
    return ranks


def gini(exposure: np.ndarray) -> float:
    total = exposure.sum()
    if total == 0:
        return 0.0
    x = np.sort(exposure).astype(np.float64)
    n = len(x)
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def metrics(split: Split, rankings: list[np.ndarray], ks: list[int]) -> dict[str, float]:
    n_items = len(split.item_ids)
    ranks = popularity_ranks(np.diff(split.X.tocsc().indptr))
    out: dict[str, float] = {}
    for k in ks:
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        recall, ndcg, ap, hit = [], [], [], []
        exposure = np.zeros(n_items, dtype=np.int64)
        novelty = []
        for ranking, relevant in zip(rankings, split.relevant):
            top = ranking[:k]
            hits = np.array([split.item_ids[item] in relevant for item in top], dtype=np.float64)
            recall.append(hits.sum() / len(relevant))
            ideal = discounts[: min(k, len(relevant))].sum()
            ndcg.append((hits * discounts[: len(hits)]).sum() / ideal)
            precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
            ap.append((precision * hits).sum() / min(k, len(relevant)))
            hit.append(float(hits.sum() > 0))
            np.add.at(exposure, top, 1)
            novelty.extend(ranks[top])
        out[f"ndcg@{k}"] = float(np.mean(ndcg))
        out[f"recall@{k}"] = float(np.mean(recall))
        out[f"map@{k}"] = float(np.mean(ap))
        out[f"hitrate@{k}"] = float(np.mean(hit))
        out[f"coverage@{k}"] = float((exposure > 0).sum() / n_items)
        out[f"gini@{k}"] = gini(exposure)
        out[f"novelty@{k}"] = float(np.mean(novelty)) if novelty else 0.0
    return out


# ---------------------------------------------------------------------------------------------
# Models: each returns (name, train_seconds, scores of the test users over all train items).


def popularity(split: Split):
    started = time.perf_counter()
    counts = np.diff(split.X.tocsc().indptr).astype(np.float64)  # train users per item
    seconds = time.perf_counter() - started
    yield "popularity", seconds, np.broadcast_to(counts, (len(split.test_users), len(counts)))


def ials(split: Split, threads: int):
    from implicit.cpu.als import AlternatingLeastSquares

    for factors in (64, 128):
        for regularization in (0.01, 0.1, 1.0):
            # implicit's own loops are parallel; a multi-threaded BLAS underneath only contends.
            with threadpool_limits(1, "blas"):
                model = AlternatingLeastSquares(
                    factors=factors,
                    regularization=regularization,
                    alpha=1.0,
                    iterations=15,
                    random_state=42,
                    num_threads=threads,
                )
                started = time.perf_counter()
                model.fit(split.X, show_progress=False)
                seconds = time.perf_counter() - started
            scores = model.user_factors[split.test_users] @ model.item_factors.T
            yield f"ials(f={factors},reg={regularization:g},alpha=1)", seconds, scores


def bm25(split: Split, threads: int):
    from implicit.nearest_neighbours import BM25Recommender

    history = split.X[split.test_users]
    # (1.2, 0.75) are BM25Recommender's defaults; (100, 0.8) are those of implicit's bm25_weight().
    for k1, b in ((1.2, 0.75), (100.0, 0.8)):
        for neighbours in (20, 50, 100, 200):
            model = BM25Recommender(K=neighbours, K1=k1, B=b, num_threads=threads)
            started = time.perf_counter()
            with warnings.catch_warnings():
                # BM25Recommender.fit hands all_pairs_knn a COO matrix of its own making.
                warnings.filterwarnings("ignore", message="Method expects CSR input")
                model.fit(split.X, show_progress=False)
            seconds = time.perf_counter() - started
            scores = (history @ model.similarity).toarray()
            yield f"bm25-knn(K={neighbours},K1={k1:g},B={b:g})", seconds, scores


def ease(split: Split):
    binary = split.X.copy()
    binary.data[:] = 1.0
    binary = binary.astype(np.float64)
    history = binary[split.test_users]
    for lam in (100.0, 250.0, 500.0, 1000.0, 2000.0):
        started = time.perf_counter()
        gram = (binary.T @ binary).toarray()
        gram[np.diag_indices_from(gram)] += lam
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)
        weights[np.diag_indices_from(weights)] = 0.0
        seconds = time.perf_counter() - started
        yield f"ease(l={lam:g})", seconds, history @ weights


def als_seconds_per_iteration(split: Split, threads: int, repeats: int = 5) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (all threads) seconds per iteration of `repeats` fits (64 factors, 15
    iterations), BLAS on 1 thread. On a busy machine, CPU seconds / threads estimates the wall time
    of an idle one."""
    from implicit.cpu.als import AlternatingLeastSquares

    timings, cpu = [], []
    for _ in range(repeats):
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=64, regularization=0.1, alpha=1.0, iterations=15, random_state=42, num_threads=threads
            )
            started, cpu_started = time.perf_counter(), time.process_time()
            model.fit(split.X, show_progress=False)
            timings.append((time.perf_counter() - started) / 15)
            cpu.append((time.process_time() - cpu_started) / 15)
    return timings, cpu


# ---------------------------------------------------------------------------------------------


def main() -> None:
    ks = [int(k) for k in ARGS.ks.split(",")]
    if ARGS.interactions:
        frame, rows_read = load_interactions(ARGS.interactions)
        cutoff_text = ARGS.cutoff or "auto"
        dataset = ARGS.interactions
    else:
        frame, rows_read = load_online_retail(ARGS.online_retail)
        cutoff_text = ARGS.cutoff or ONLINE_RETAIL_CUTOFF
        dataset = ARGS.online_retail
    split = Split(frame, parse_cutoff(cutoff_text, frame), rows_read)
    stats = split.stats
    print(
        f"{dataset}: cutoff {stats['cutoff']}; train {stats['train_rows']} rows, {stats['train_users']} users, "
        f"{stats['train_items']} items, {stats['train_pairs']} pairs; test {stats['test_rows']} rows, "
        f"{stats['test_users']} users, {stats['mean_relevant_per_user']:.2f} relevant per user "
        f"({stats['relevant_unseen_in_train']} unseen in train)",
        flush=True,
    )

    wanted = set(ARGS.models.split(","))
    generators = []
    if "popularity" in wanted:
        generators.append(popularity(split))
    if "ials" in wanted:
        generators.append(ials(split, ARGS.threads))
    if "bm25" in wanted:
        generators.append(bm25(split, ARGS.threads))
    if "ease" in wanted:
        generators.append(ease(split))

    columns = [f"{name}@{k}" for name in ("recall", "ndcg", "map", "hitrate", "coverage", "gini", "novelty") for k in ks]
    print(f"{'model':<32}" + "".join(f"{column:>12}" for column in columns) + f"{'train s':>10}", flush=True)
    lines = []
    for generator in generators:
        for name, train_seconds, scores in generator:
            started = time.perf_counter()
            rankings = rank(split, scores, max(ks))
            values = metrics(split, rankings, ks)
            line = {"model": name, "train_seconds": train_seconds, "eval_seconds": time.perf_counter() - started}
            line.update(dict(sorted(values.items())))
            lines.append(line)
            cells = "".join(
                f"{values[column]:>12.1f}" if column.startswith("novelty") else f"{values[column]:>12.4f}"
                for column in columns
            )
            print(f"{name:<32}{cells}{train_seconds:>10.3f}", flush=True)

    report = {"split": stats, "ks": ks, "models": lines}
    if ARGS.threads:
        timings, cpu = als_seconds_per_iteration(split, ARGS.threads)
        # The minimum is the least disturbed by other processes; the median is reported beside it.
        report["timing"] = {
            "als_seconds_per_iteration": min(timings),
            "als_seconds_per_iteration_median": float(np.median(timings)),
            "als_cpu_seconds_per_iteration": float(np.median(cpu)),
            "fits": len(timings),
            "factors": 64,
            "iterations": 15,
            "threads": ARGS.threads,
            "blas_threads": 1,
            "load_average_1min": os.getloadavg()[0],
        }
        print(
            f"implicit ALS, 64 factors, {ARGS.threads} threads, BLAS 1 thread: {min(timings):.4f} s/iteration "
            f"(best of {len(timings)} fits; median {np.median(timings):.4f}; CPU {np.median(cpu):.4f} s/iteration "
            f"over all threads; load average {os.getloadavg()[0]:.1f})"
        )
    if ARGS.json:
        with open(ARGS.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
        print(f"wrote {ARGS.json}")


if __name__ == "__main__":
    main()
