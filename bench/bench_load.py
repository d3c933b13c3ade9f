"""Load benchmark: the insight stage on 200,000 mentions and the trend stage on 10,000 series,
each with wall time and peak memory, against a peer doing the core job alone in the same run.

Run by hand (not a test):

    PYTHONPATH=src .venv/bin/python bench/bench_load.py            # full size
    PYTHONPATH=src .venv/bin/python bench/bench_load.py --scale 0.1 # a quick look

Every task runs in a fresh interpreter, so its peak RSS (``ru_maxrss``) is its own; the Python
heap peak (tracemalloc) is reported too for the launchlab stages. Inputs are synthetic and
seeded:

- insight: reviews of 2–3 clauses about 12 topics ("zipper broke, but the colour is lovely"),
  split into mentions by the stage (``level="mention"``) and embedded with the deterministic
  ``HashingEmbedder`` (384 dims; no model download, so the figures measure launchlab, not
  torch). Peer: scikit-learn ``MiniBatchKMeans`` alone, k = the number of needs launchlab
  found, on the same mention embeddings (computed once, outside its timing).
- trends: weekly series of 104 points (trend + yearly season + noise, a fifth intermittent),
  ``forecast_trends`` with its defaults (horizon 8, the model ensemble, 2-window backtest,
  trend classes). Peer: statsforecast ``AutoETS`` alone, ``forecast(h=8, level=[80, 95])`` on
  the same frame, same ``n_jobs`` (``--n-jobs``, default ``TrendsConfig``'s). Both warm numba up on
  two series first; CPU time includes the worker processes, peak RSS adds the largest worker's.

Last measured for trends (issue 17, ``--only trends --series 2000``, load average 16-27 from other
sessions, so wall times mean nothing): stage 146.1 s CPU, peak RSS 650 MB; AutoETS alone 149.3 s,
502 MB: **0.98x CPU, 1.30x peak RSS**. The 10,000-series run did not fit that session (the
2,000-series one took 42 minutes of wall time for 295 CPU-seconds); at 10,000 the backtest sample
(300 series per route) weighs relatively less. Before issue 17: 2.0x CPU, 2.3x peak RSS at 10,000.
Last measured at 10,000 (``--only trends --series 10000``, quiet machine, load ~1.3): stage 396.9 s
wall / 588.1 s CPU, peak RSS 1,162 MB; AutoETS alone 339.5 s / 673.1 s, 679 MB: **0.87x CPU (bar
1.2x met), 1.71x peak RSS (bar 1.5x not met)**.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

TOPICS = [
    ("zipper", "the zipper broke after a week"), ("size", "it runs small so order a size up"),
    ("fabric", "the fabric is thin and see through"), ("colour", "the colour is lovely and bright"),
    ("wash", "it shrank in the wash"), ("length", "too long for petite frames"),
    ("delivery", "delivery was late and the box was damaged"), ("price", "great value for the price"),
    ("comfort", "very comfortable and soft"), ("pockets", "love that it has deep pockets"),
    ("stitching", "stitching came loose at the seam"), ("smell", "it had a strange chemical smell"),
]
FILLERS = ["really", "honestly", "also", "overall", "sadly", "luckily", "and", "but"]


def reviews_frame(n_mentions: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic reviews holding about ``n_mentions`` clauses in total (2–3 per review)."""
    rng = np.random.default_rng(seed)
    per = rng.integers(2, 4, size=n_mentions // 2 + 10)
    per = per[: int(np.searchsorted(np.cumsum(per), n_mentions)) + 1]
    topic = rng.integers(0, len(TOPICS), size=int(per.sum()))
    filler = rng.integers(0, len(FILLERS), size=int(per.sum()))
    texts, k = [], 0
    for count in per:
        parts = [f"{FILLERS[filler[k + j]]} {TOPICS[topic[k + j]][1]}" for j in range(count)]
        texts.append(". ".join(p.capitalize() for p in parts) + ".")
        k += count
    ratings = rng.integers(1, 6, size=len(texts))
    return pd.DataFrame({"review_id": [f"r{i}" for i in range(len(texts))], "text": texts, "rating": ratings.astype(float)})


def series_frame(n_series: int, length: int = 104, seed: int = 0) -> pd.DataFrame:
    """Weekly series with trend, yearly season and noise; one in five intermittent."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    ds = pd.date_range("2022-01-03", periods=length, freq="W-MON")
    level = rng.uniform(20, 200, size=(n_series, 1))
    slope = rng.normal(0, 0.004, size=(n_series, 1)) * level
    season = rng.uniform(0, 0.3, size=(n_series, 1)) * level * np.sin(2 * np.pi * t / 52 + rng.uniform(0, 6, size=(n_series, 1)))
    y = level + slope * t + season + rng.normal(0, 0.08, size=(n_series, length)) * level
    intermittent = rng.random(n_series) < 0.2
    y[intermittent] = rng.poisson(0.4, size=(int(intermittent.sum()), length)) * rng.integers(1, 5, size=(int(intermittent.sum()), 1))
    y = np.clip(y, 0, None)
    return pd.DataFrame(
        {"unique_id": np.repeat([f"s{i:05d}" for i in range(n_series)], length), "ds": np.tile(ds, n_series), "y": y.ravel()}
    )


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished children (statsforecast's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mb() -> float:
    """Peak RSS of this process plus that of its largest worker process, if any (Linux: KiB)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_maxrss + children.ru_maxrss) / 1024


# ---------------------------------------------------------------------------------------------
# Tasks (each runs in its own process)


def task_insight(n: int, work: Path) -> dict:
    from launchlab.embeddings import HashingEmbedder
    from launchlab.insight import InsightConfig, discover_needs

    reviews = reviews_frame(n)
    base_rss = _peak_rss_mb()
    tracemalloc.start()
    start, cpu0 = time.perf_counter(), _cpu_s()
    result = discover_needs(reviews, embedder=HashingEmbedder(384), config=InsightConfig(level="mention", seed=0))
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu0
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    (work / "n_needs.json").write_text(json.dumps({"k": int(result.metrics["n_needs"])}))
    return {
        "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": base_rss, "heap_peak_mb": heap_peak,
        "n_reviews": len(reviews), "n_mentions": int(result.metrics["n_mentions"]), "n_needs": int(result.metrics["n_needs"]),
        "silhouette": result.metrics["silhouette"],
    }


def task_insight_peer(n: int, work: Path) -> dict:
    from sklearn.cluster import MiniBatchKMeans

    from launchlab.embeddings import HashingEmbedder
    from launchlab.insight.mentions import split_mentions

    reviews = reviews_frame(n)
    mentions = split_mentions(reviews["review_id"].tolist(), reviews["text"].tolist())
    X = HashingEmbedder(384).encode(mentions["text"].tolist())
    k = json.loads((work / "n_needs.json").read_text())["k"] if (work / "n_needs.json").exists() else 12
    base_rss = _peak_rss_mb()
    start, cpu0 = time.perf_counter(), _cpu_s()
    MiniBatchKMeans(n_clusters=max(k, 2), random_state=0, n_init=3, batch_size=4096).fit(X)
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": base_rss, "n_mentions": len(X), "k": k}


def task_embed_only(n: int, work: Path) -> dict:
    from launchlab.embeddings import HashingEmbedder
    from launchlab.insight.mentions import split_mentions

    reviews = reviews_frame(n)
    start, cpu0 = time.perf_counter(), _cpu_s()
    mentions = split_mentions(reviews["review_id"].tolist(), reviews["text"].tolist())
    HashingEmbedder(384).encode(mentions["text"].tolist())
    return {"wall_s": time.perf_counter() - start, "cpu_s": _cpu_s() - cpu0, "peak_rss_mb": _peak_rss_mb(), "n_mentions": len(mentions)}


def _n_jobs(work: Path) -> int:
    from launchlab.trends import TrendsConfig

    path = work / "n_jobs.json"
    return json.loads(path.read_text())["n_jobs"] if path.exists() else TrendsConfig().n_jobs


def _warm_up(frame: pd.DataFrame, fn) -> None:
    """Compile numba code on two series first: the bench times the stage, not the JIT."""
    fn(frame[frame["unique_id"].isin(frame["unique_id"].unique()[:2])])


def task_trends(n: int, work: Path) -> dict:
    from launchlab.trends import TrendsConfig, forecast_trends

    frame = series_frame(n)
    config = TrendsConfig(horizon=8, n_jobs=_n_jobs(work))
    _warm_up(frame, lambda part: forecast_trends(part, config=config.model_copy(update={"n_jobs": 1})))
    base_rss = _peak_rss_mb()
    tracemalloc.start()
    start, cpu0 = time.perf_counter(), _cpu_s()
    result = forecast_trends(frame, config=config)
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu0
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": base_rss, "heap_peak_mb": heap_peak,
        "n_series": int(result.metrics["n_series"]), "rows": len(frame),
        "backtest_mase": result.metrics.get("backtest_mase"), "n_intermittent": result.metrics.get("n_intermittent"),
    }


def task_trends_peer(n: int, work: Path) -> dict:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    frame = series_frame(n)
    _warm_up(frame, lambda part: StatsForecast(models=[AutoETS(season_length=52)], freq="W-MON").forecast(df=part, h=8, level=[80, 95]))
    base_rss = _peak_rss_mb()
    start, cpu0 = time.perf_counter(), _cpu_s()
    sf = StatsForecast(models=[AutoETS(season_length=52)], freq="W-MON", n_jobs=_n_jobs(work))
    sf.forecast(df=frame, h=8, level=[80, 95])
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": base_rss, "n_series": n}


TASKS = {
    "insight": task_insight,
    "insight_peer": task_insight_peer,
    "embed_only": task_embed_only,
    "trends": task_trends,
    "trends_peer": task_trends_peer,
}


def _child(name: str, n: int, work: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.run(
        [sys.executable, __file__, "--task", name, "--n", str(n), "--work", str(work)],
        env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"task {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply both sizes (0.1 for a quick look).")
    parser.add_argument("--mentions", type=int, default=200_000)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--only", choices=["insight", "trends"], default=None)
    parser.add_argument("--n-jobs", type=int, default=None, help="statsforecast processes for the trend stage and its peer (default: TrendsConfig's)")
    parser.add_argument("--task", choices=list(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(TASKS[args.task](args.n, args.work)))
        return

    import tempfile

    work = Path(tempfile.mkdtemp(prefix="launchlab-bench-"))
    if args.n_jobs is not None:
        (work / "n_jobs.json").write_text(json.dumps({"n_jobs": args.n_jobs}))
    n_mentions, n_series = int(args.mentions * args.scale), int(args.series * args.scale)
    print(f"launchlab load benchmark: {n_mentions:,} mentions, {n_series:,} series; {os.cpu_count()} CPUs", flush=True)
    if args.only in (None, "insight"):
        ours = _child("insight", n_mentions, work)
        embed = _child("embed_only", n_mentions, work)
        peer = _child("insight_peer", n_mentions, work)
        print(
            f"insight  launchlab discover_needs: {ours['n_mentions']:,} mentions of {ours['n_reviews']:,} reviews → {ours['n_needs']} needs "
            f"in {ours['wall_s']:.1f} s wall / {ours['cpu_s']:.1f} s CPU, peak RSS {ours['peak_rss_mb']:.0f} MB (before the stage {ours['rss_before_mb']:.0f} MB, "
            f"Python heap peak {ours['heap_peak_mb']:.0f} MB)\n"
            f"         of which split + HashingEmbedder: {embed['wall_s']:.1f} s wall / {embed['cpu_s']:.1f} s CPU\n"
            f"         peer MiniBatchKMeans(k={peer['k']}) alone on the embeddings: {peer['wall_s']:.1f} s wall / {peer['cpu_s']:.1f} s CPU, peak RSS {peer['peak_rss_mb']:.0f} MB\n"
            f"         ratio launchlab / peer: {ours['wall_s'] / peer['wall_s']:.1f}x wall, {ours['cpu_s'] / peer['cpu_s']:.1f}x CPU, "
            f"{ours['peak_rss_mb'] / peer['peak_rss_mb']:.2f}x peak RSS; "
            f"excluding embedding: {(ours['cpu_s'] - embed['cpu_s']) / peer['cpu_s']:.1f}x CPU",
            flush=True,
        )
    if args.only in (None, "trends"):
        peer = _child("trends_peer", n_series, work)
        ours = _child("trends", n_series, work)
        print(
            f"trends   launchlab forecast_trends: {ours['n_series']:,} series × 104 weeks, horizon 8, with backtest, "
            f"in {ours['wall_s']:.1f} s wall / {ours['cpu_s']:.1f} s CPU, peak RSS {ours['peak_rss_mb']:.0f} MB (before {ours['rss_before_mb']:.0f} MB, "
            f"Python heap peak {ours['heap_peak_mb']:.0f} MB); backtest MASE {ours['backtest_mase']}\n"
            f"         peer statsforecast AutoETS alone (forecast h=8, 80/95 intervals): {peer['wall_s']:.1f} s wall / {peer['cpu_s']:.1f} s CPU, peak RSS {peer['peak_rss_mb']:.0f} MB\n"
            f"         ratio launchlab / peer: {ours['wall_s'] / peer['wall_s']:.1f}x wall, {ours['cpu_s'] / peer['cpu_s']:.1f}x CPU, "
            f"{ours['peak_rss_mb'] / peer['peak_rss_mb']:.2f}x peak RSS",
            flush=True,
        )


if __name__ == "__main__":
    main()
