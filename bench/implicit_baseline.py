#!/usr/bin/env python3
"""The `implicit` yardstick: the recommendation protocol of docs/evaluation.md, re-implemented
independently with pandas/numpy, run on popularity, implicit's ALS and BM25 item-kNN, EASE and SANSA.

Same filters, same cutoff, same weights (distinct baskets per user x item), same test users, same
full-catalogue ranking (own train items excluded, ties by item id) and the same metrics as the Rust
crate vitrine-eval (`vitrine_eval::recs`), so its popularity line must equal the Rust one exactly.

    python bench/implicit_baseline.py                       # Online Retail II, cutoff 2010-09-01
    python bench/implicit_baseline.py --threads 2           # + ALS seconds/iteration, 2 threads, BLAS 1
    python bench/implicit_baseline.py --interactions x.csv --cutoff auto   # a generic CSV, 0.8 rule
    python bench/implicit_baseline.py --replicate 10 --models popularity,sansa

See bench/README.md for the environment.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator


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
        help="comma-separated subset of popularity,ials,bm25,ease,sansa (default: %(default)s)",
    )
    parser.add_argument(
        "--replicate",
        type=int,
        default=1,
        help="K disjoint copies of the filtered log (block b: '#b' appended to user, item and basket ids), "
        "before the split; one copy of every test user is scored, in block fnv1a64(original id) mod K "
        "(default: %(default)s = the log as read)",
    )
    parser.add_argument(
        "--ease-max-items",
        type=int,
        default=20000,
        help="skip the dense EASE above this many train items (default: %(default)s)",
    )
    parser.add_argument(
        "--sansa-l2",
        default="2,5,10,20",
        help="comma-separated SANSA l2 values, on the scale of its ICF-rescaled Gramian (default: %(default)s)",
    )
    parser.add_argument(
        "--sansa-density",
        default="0.005,0.05",
        help="comma-separated SANSA weight_matrix_density values; one value here and in --sansa-l2 "
        "runs a single configuration (default: %(default)s)",
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
FNV_OFFSET_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK_64 = (1 << 64) - 1


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


def replicate(frame: pd.DataFrame, blocks: int) -> pd.DataFrame:
    """`blocks` disjoint shops: block b is a copy of every row with "#b" appended to the user, item and
    basket ids (same timestamp), as `InteractionLog::replicate` does. The 0.8 quantile of the
    timestamps, hence `--cutoff auto`, does not move. One block is `frame` itself."""
    if blocks <= 1:
        return frame
    copies = []
    for block in range(blocks):
        suffix = f"#{block}"
        copies.append(frame.assign(user=frame.user + suffix, item=frame.item + suffix, basket=frame.basket + suffix))
    return pd.concat(copies, ignore_index=True)


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


def fnv1a64(data: bytes) -> int:
    """FNV-1a, 64 bits: from the offset basis, for each byte xor then multiply by the prime, mod 2**64."""
    value = FNV_OFFSET_BASIS
    for byte in data:
        value = ((value ^ byte) * FNV_PRIME) & MASK_64
    return value


def one_copy_per_user(users: list[str], blocks: int) -> list[str]:
    """On a log of `blocks` replicated shops, the copy of every original test user that lives in block
    fnv1a64(UTF-8 original id) mod blocks (`Split::one_copy_per_test_user`), in increasing id order;
    all users with one block."""
    if blocks <= 1:
        return sorted(users)
    chosen = []
    for user in users:
        base, _, block = user.rpartition("#")
        if block.isdigit() and int(block) < blocks and fnv1a64(base.encode("utf-8")) % blocks == int(block):
            chosen.append(user)
    return sorted(chosen)


class Split:
    def __init__(self, frame: pd.DataFrame, cutoff: int, rows_read: int, blocks: int = 1):
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
        ordered = one_copy_per_user(list(relevant), blocks)
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
            "test_users_all": len(relevant),
            "mean_relevant_per_user": float(np.mean([len(items) for items in self.relevant])),
            "relevant_unseen_in_train": int(sum(len(items - known) for items in self.relevant)),
        }


# ---------------------------------------------------------------------------------------------
# Ranking and metrics.


def _score_rows(scores: np.ndarray | sp.spmatrix) -> Iterator[np.ndarray]:
    """Yield each test user's scores as a float64 vector, NaN as -inf, one row at a time. In a sparse
    matrix (SANSA's output) absent entries score 0."""
    if sp.issparse(scores):
        scores = sp.csr_matrix(scores)
        for row in range(scores.shape[0]):
            dense = np.zeros(scores.shape[1], dtype=np.float64)
            start, end = scores.indptr[row], scores.indptr[row + 1]
            dense[scores.indices[start:end]] = scores.data[start:end]
            yield np.where(np.isnan(dense), -np.inf, dense)
        return
    for row in np.asarray(scores):  # row by row: a broadcast popularity matrix stays a view
        row = row.astype(np.float64)
        yield np.where(np.isnan(row), -np.inf, row)


def rank(split: Split, scores: np.ndarray | sp.spmatrix, k: int) -> list[np.ndarray]:
    """Top k per test user by decreasing score, ties by increasing item id, own train items excluded."""
    history = split.X[split.test_users]
    rankings = []
    for row, user_scores in enumerate(_score_rows(scores)):
        owned = history.indices[history.indptr[row] : history.indptr[row + 1]]
        candidates = np.setdiff1d(np.arange(len(user_scores)), owned, assume_unique=True)
        order = np.argsort(-user_scores[candidates], kind="stable")[:k]
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
# Memory: the process peak (ru_maxrss) and, where Linux lets the high-water mark be reset
# (/proc/self/clear_refs), the peak during one training.

_PROCESS_PEAK_KIB = 0


def _status_kib(field: str) -> int | None:
    """A `VmRSS`/`VmHWM`-like field of /proc/self/status, in KiB; None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def process_peak_kib(at_least: int = 0) -> int:
    """Peak resident memory of the process so far (ru_maxrss, KiB on Linux), including the peaks
    before any reset of the high-water mark, and at least `at_least` (a VmHWM read just before:
    the kernel folds the current RSS into VmHWM on reading, into ru_maxrss only later)."""
    global _PROCESS_PEAK_KIB
    _PROCESS_PEAK_KIB = max(_PROCESS_PEAK_KIB, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, at_least)
    return _PROCESS_PEAK_KIB


def reset_peak() -> bool:
    """Reset the kernel's resident high-water mark (VmHWM) to the current RSS; False if not allowed."""
    process_peak_kib()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


class Training:
    """Times one fit (`with Training() as training: model.fit(...)`) and measures memory around it."""

    def __enter__(self) -> "Training":
        self.resettable = reset_peak()
        self.rss_before_kib = _status_kib("VmRSS")
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> None:
        self.seconds = time.perf_counter() - self.started
        self.train_peak_kib = _status_kib("VmHWM") if self.resettable else None
        self.peak_kib = process_peak_kib(self.train_peak_kib or 0)

    def info(self, **model_size: int) -> dict:
        """peak_rss_mb = ru_maxrss of the process after the fit; train_peak_rss_mb = peak RSS during the
        fit alone (when resettable), rss_before_train_mb = RSS when it started; MB = 2**20 bytes."""
        out = {"peak_rss_mb": self.peak_kib / 1024}
        if self.train_peak_kib is not None:
            out["train_peak_rss_mb"] = self.train_peak_kib / 1024
        if self.rss_before_kib is not None:
            out["rss_before_train_mb"] = self.rss_before_kib / 1024
        out.update(model_size)
        return out


def sparse_bytes(matrix: sp.spmatrix) -> int:
    """Bytes of a CSR/CSC matrix's data, indices and indptr."""
    return int(matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes)


# ---------------------------------------------------------------------------------------------
# Models: each yields (name, train_seconds, scores of the test users over all train items, info);
# info holds the memory figures of `Training.info` and, where meaningful, model_bytes (the
# weights that scoring needs) and model_nnz.


def popularity(split: Split):
    with Training() as training:
        counts = np.diff(split.X.tocsc().indptr).astype(np.float64)  # train users per item
    scores = np.broadcast_to(counts, (len(split.test_users), len(counts)))
    yield "popularity", training.seconds, scores, training.info(model_bytes=int(counts.nbytes))


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
                with Training() as training:
                    model.fit(split.X, show_progress=False)
            scores = model.user_factors[split.test_users] @ model.item_factors.T
            info = training.info(model_bytes=int(model.user_factors.nbytes + model.item_factors.nbytes))
            yield f"ials(f={factors},reg={regularization:g},alpha=1)", training.seconds, scores, info


def bm25(split: Split, threads: int):
    from implicit.nearest_neighbours import BM25Recommender

    history = split.X[split.test_users]
    # (1.2, 0.75) are BM25Recommender's defaults; (100, 0.8) are those of implicit's bm25_weight().
    for k1, b in ((1.2, 0.75), (100.0, 0.8)):
        for neighbours in (20, 50, 100, 200):
            model = BM25Recommender(K=neighbours, K1=k1, B=b, num_threads=threads)
            with Training() as training:
                with warnings.catch_warnings():
                    # BM25Recommender.fit hands all_pairs_knn a COO matrix of its own making.
                    warnings.filterwarnings("ignore", message="Method expects CSR input")
                    model.fit(split.X, show_progress=False)
            scores = (history @ model.similarity).toarray()
            info = training.info(model_bytes=sparse_bytes(model.similarity), model_nnz=int(model.similarity.nnz))
            yield f"bm25-knn(K={neighbours},K1={k1:g},B={b:g})", training.seconds, scores, info


def binarised(split: Split) -> sp.csr_matrix:
    """The train matrix with every stored weight set to 1, float64 (EASE's and SANSA's input)."""
    binary = split.X.copy()
    binary.data[:] = 1.0
    return binary.astype(np.float64)


def ease(split: Split):
    binary = binarised(split)
    history = binary[split.test_users]
    for lam in (100.0, 250.0, 500.0, 1000.0, 2000.0):
        with Training() as training:
            gram = (binary.T @ binary).toarray()
            gram[np.diag_indices_from(gram)] += lam
            precision = np.linalg.inv(gram)
            weights = -precision / np.diag(precision)
            weights[np.diag_indices_from(weights)] = 0.0
        info = training.info(model_bytes=int(weights.nbytes))
        yield f"ease(l={lam:g})", training.seconds, history @ weights, info


class SansaLog(logging.Handler):
    """Takes over the `sansa` logger (which logs every step at INFO): keeps the number of restarts of
    the incomplete Cholesky factorisation (each adds to the diagonal shift), the shift finally used,
    and the last UMR residual (relative Frobenius norm squared of L M - I); prints each distinct
    warning once, on one line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.warned: set[str] = set()
        self.reset(0.0)

    def reset(self, l2: float) -> None:
        self.icf_restarts, self.icf_l2, self.umr_residual = 0, l2, None

    def emit(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().split())
        if message.startswith("Incomplete Cholesky decomposition failed"):
            self.icf_restarts += 1
            self.icf_l2 = float(message.rsplit("L2=", 1)[1].rstrip("."))
        residual = re.search(r"relative Frobenius norm squared: (\S+)", message)
        if residual:
            self.umr_residual = float(residual.group(1))
        if record.levelno >= logging.WARNING and message not in self.warned:
            self.warned.add(message)
            print(f"sansa warning: {message}", file=sys.stderr, flush=True)

    def info(self) -> dict:
        return {"icf_restarts": self.icf_restarts, "icf_l2": self.icf_l2, "umr_residual": self.umr_residual}


def sansa(split: Split, l2s: list[float], densities: list[float]):
    """SANSA (Spisak et al., RecSys 2023; the `sansa` package): EASE's weights approximated by two
    sparse factors W1 W2, from an incomplete Cholesky factorisation (ICF) of the l2-shifted Gramian of
    the column-rescaled binarised X and a UMR approximate inverse of its unit lower triangle. Scores
    are `forward(X_u)` = X_u W1 W2 (sparse; absent entries score 0)."""
    root_level = logging.getLogger().level
    from sansa import SANSA, ICFGramianFactorizerConfig, SANSAConfig, UMRUnitLowerTriangleInverterConfig

    logging.getLogger().setLevel(root_level)  # sansa.model calls logging.basicConfig(level=INFO) on import
    log = SansaLog()
    logger = logging.getLogger("sansa")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers[:] = [log]
    binary = binarised(split)
    history = binary[split.test_users]
    for l2 in l2s:
        for density in densities:
            config = SANSAConfig(
                l2=l2,
                weight_matrix_density=density,
                gramian_factorizer_config=ICFGramianFactorizerConfig(),  # shift step 1e-3, multiplier 2
                lower_triangle_inverter_config=UMRUnitLowerTriangleInverterConfig(),  # 1 scan, 10 finetune steps
            )
            model = SANSA(config)
            log.reset(l2)
            with Training() as training:
                model.fit(binary)
            w1, w2 = model.weights
            info = training.info(model_bytes=sparse_bytes(w1) + sparse_bytes(w2), model_nnz=int(w1.nnz + w2.nnz))
            info.update(log.info())
            yield f"sansa(l2={l2:g},d={density:g})", training.seconds, model.forward(history), info


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


def parse_floats(text: str) -> list[float]:
    return [float(value) for value in text.split(",") if value.strip()]


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
    if ARGS.replicate > 1:
        frame = replicate(frame, ARGS.replicate)
        dataset += f" x{ARGS.replicate}"
    split = Split(frame, parse_cutoff(cutoff_text, frame), rows_read, ARGS.replicate)
    del frame
    stats = split.stats
    stats["replicate"] = max(ARGS.replicate, 1)
    scored = f"{stats['test_users']} of {stats['test_users_all']}" if ARGS.replicate > 1 else f"{stats['test_users']}"
    print(
        f"{dataset}: cutoff {stats['cutoff']}; train {stats['train_rows']} rows, {stats['train_users']} users, "
        f"{stats['train_items']} items, {stats['train_pairs']} pairs; test {stats['test_rows']} rows, "
        f"{scored} users, {stats['mean_relevant_per_user']:.2f} relevant per user "
        f"({stats['relevant_unseen_in_train']} unseen in train)",
        flush=True,
    )

    wanted = set(ARGS.models.split(","))
    unknown = wanted - {"popularity", "ials", "bm25", "ease", "sansa"}
    if unknown:
        sys.exit(f"unknown models: {', '.join(sorted(unknown))}")
    skipped = []
    if "ease" in wanted and stats["train_items"] > ARGS.ease_max_items:
        note = f"ease skipped: {stats['train_items']} train items > --ease-max-items {ARGS.ease_max_items}"
        print(note, flush=True)
        skipped.append(note)
        wanted.discard("ease")
    generators = []
    if "popularity" in wanted:
        generators.append(popularity(split))
    if "ials" in wanted:
        generators.append(ials(split, ARGS.threads))
    if "bm25" in wanted:
        generators.append(bm25(split, ARGS.threads))
    if "ease" in wanted:
        generators.append(ease(split))
    if "sansa" in wanted:
        generators.append(sansa(split, parse_floats(ARGS.sansa_l2), parse_floats(ARGS.sansa_density)))

    columns = [f"{name}@{k}" for name in ("recall", "ndcg", "map", "hitrate", "coverage", "gini", "novelty") for k in ks]
    print(
        f"{'model':<32}"
        + "".join(f"{column:>12}" for column in columns)
        + f"{'train s':>10}{'peak MB':>10}{'fit MB':>10}",
        flush=True,
    )
    lines = []
    for generator in generators:
        for name, train_seconds, scores, info in generator:
            started = time.perf_counter()
            rankings = rank(split, scores, max(ks))
            values = metrics(split, rankings, ks)
            line = {"model": name, "train_seconds": train_seconds, "eval_seconds": time.perf_counter() - started}
            line.update(info)
            line.update(dict(sorted(values.items())))
            lines.append(line)
            cells = "".join(
                f"{values[column]:>12.1f}" if column.startswith("novelty") else f"{values[column]:>12.4f}"
                for column in columns
            )
            fit_mb = f"{info['train_peak_rss_mb']:>10.0f}" if "train_peak_rss_mb" in info else f"{'-':>10}"
            print(f"{name:<32}{cells}{train_seconds:>10.3f}{info['peak_rss_mb']:>10.0f}{fit_mb}", flush=True)

    report = {"split": stats, "ks": ks, "models": lines}
    if skipped:
        report["skipped"] = skipped
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
