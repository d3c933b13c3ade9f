"""Insight benchmark (issue #3): the stage against a bare encode, against BERTopic, and its memory
as the corpus grows. Each part prints figures and ratios against the peer measured in the same run.

Run by hand (not a test), one part at a time or all:

    PYTHONPATH=src HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_insight.py --part A
    PYTHONPATH=src HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_insight.py --part B --cache-dir .cache/embeddings
    PYTHONPATH=src .venv/bin/python bench/bench_insight.py --part C --sizes 100000,300000,1000000

Every task runs in a fresh interpreter, so its peak RSS (``ru_maxrss``) is its own; timings
exclude interpreter start, imports and model loading, for launchlab and the peers alike.

- A (real model, all-MiniLM-L6-v2): 5,000 clothing reviews (``load_reviews``, seed 42) split into
  mentions. Peer: a bare ``SentenceTransformer.encode`` of the same mentions (batch 64). Then
  ``discover_needs(level="mention")`` cold (empty embedding cache) and warm (same cache).
  Targets: cold <= 1.2x the bare encode, warm <= 0.1x cold.
- B (review level, the full clothing corpus of ~22,600 usable reviews): launchlab
  ``discover_needs`` and ``BERTopic().fit_transform(docs, embeddings)`` with default settings, on
  the same precomputed embeddings (embedded once, kept in ``--cache-dir``; not timed). Review
  level because BERTopic at mention level (~110k mentions) takes UMAP far beyond a benchmark on
  2 cores. Both get one untimed warm-up fit on 1,000 reviews first, so numba's JIT compilation
  of UMAP/HDBSCAN is not counted against BERTopic. Reported: wall time, outlier share (BERTopic
  topic -1; launchlab's unassigned), number of topics, and NPMI coherence and topic diversity of
  the top 10 words of each topic, computed by the same launchlab functions
  (``launchlab.insight.quality``) on the same texts with the same tokenisation for both.
  BERTopic is optional (``pip install -e .[bench]``); without it the peer is skipped.
- C (``bench_load.py``'s synthetic reviews, every mention made distinct; ``HashingEmbedder``): peak RSS and wall time of
  ``discover_needs(level="mention")`` at each size, streamed (the default: models fitted on a
  sample of at most 50,000 mentions, the rest embedded and assigned 20,000 at a time) without an
  embedding cache, with an empty one (cold) and again with it filled (warm: every vector read back
  from disk), and, up to ``--in-memory-max`` mentions, with streaming switched off (``fit_cap``
  above the corpus) as the peer. The embeddings alone would need ``n x 384 x 4`` bytes.

Last measured (2 cores, quiet machine; A and B with the need model that chooses k on a
3,000-row sample, C with the need model of 72f0df7):
A  31,756 mentions: bare encode 95.3 s, cold stage 97.7 s (1.02x), warm 5.5 s (0.056x cold;
   it was 14.2 s, 0.114x, when every candidate k was clustered on 10,000 rows); peak RSS
   937 / 1,352 / 573 MB.
B  launchlab 6.1 s, 7 needs, 0% outliers, NPMI 0.047, diversity 0.529; BERTopic 41.3 s,
   194 topics, 43.2% outliers, NPMI -0.095, diversity 0.488 (launchlab 0.15x wall; session 3).
C  peak RSS streamed vs in memory: 100k mentions 741 vs 1,169 MB, 300k 842 vs 3,021 MB;
   1M streamed 1,212 MB (warm cache 1,236 MB), where the embeddings alone are 1,465 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOTHING = ROOT / "data" / "womens_clothing_reviews.parquet"
WARMUP_DOCS = 1000


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _reviews(n: int | None):
    from launchlab.io import load_reviews

    return load_reviews(CLOTHING, sample=n, seed=42).frame


def _mention_texts(reviews) -> list[str]:
    from launchlab.insight.mentions import split_mentions

    return split_mentions(reviews["review_id"].tolist(), reviews["text"].tolist())["text"].tolist()


def _timed(fn):
    start, cpu0 = time.perf_counter(), _cpu_s()
    out = fn()
    return out, {"wall_s": time.perf_counter() - start, "cpu_s": _cpu_s() - cpu0}


# ---------------------------------------------------------------------------------------------
# Tasks (each runs in its own process)


def task_a_bare(n: int, work: Path, cache_dir: Path) -> dict:
    from sentence_transformers import SentenceTransformer

    from launchlab.embeddings import resolve_model_path

    texts = _mention_texts(_reviews(n))
    model = SentenceTransformer(str(resolve_model_path()), device="cpu")
    model.encode(texts[:64], batch_size=64, show_progress_bar=False)
    _, timing = _timed(lambda: model.encode(texts, batch_size=64, show_progress_bar=False))
    return {**timing, "peak_rss_mb": _peak_rss_mb(), "n_mentions": len(texts)}


def task_a_stage(n: int, work: Path, cache_dir: Path, warm: bool = False, stars: bool = True) -> dict:
    """The stage on the sample; ``stars=False`` drops the ratings, so the shipped layer-feature
    sentiment head scores the mentions (the embedder then also returns hidden-layer means)."""
    from launchlab.embeddings import SentenceTransformerEmbedder
    from launchlab.insight import InsightConfig, discover_needs

    reviews = _reviews(n)
    if not stars:
        reviews = reviews.drop(columns=["rating"])
    embedder = SentenceTransformerEmbedder()
    if not warm:  # load the model outside the timing, as the bare peer does; the cache stays empty
        embedder.encode(_mention_texts(reviews.head(20))[:64])
    config = InsightConfig(level="mention", seed=42, cache_dir=work / ("cache" if stars else "cache-no-stars"))
    result, timing = _timed(lambda: discover_needs(reviews, embedder=embedder, config=config))
    m = result.metrics
    return {
        **timing, "peak_rss_mb": _peak_rss_mb(), "n_mentions": int(m["n_mentions"]), "n_needs": int(m["n_needs"]),
        "cache_hits": int(m["embedding_cache_hits"]), "npmi": m["npmi_coherence"], "diversity": m["topic_diversity"],
        "sentiment": f"{result.params['sentiment_source']} ({result.params['sentiment_features']})",
    }


def _b_inputs(cache_dir: Path):
    import numpy as np

    from launchlab.embeddings import SentenceTransformerEmbedder
    from launchlab.insight.cache import CachedEmbedder
    from launchlab.console import console_progress

    reviews = _reviews(None)
    embedder = SentenceTransformerEmbedder()
    with console_progress("embedding the clothing corpus (once; cached)") as progress:
        X = np.asarray(CachedEmbedder(embedder, cache_dir).encode(reviews["text"].tolist(), progress=progress))
    return reviews, embedder, X


def task_b_embed(n: int, work: Path, cache_dir: Path) -> dict:
    reviews, _, X = _b_inputs(cache_dir)
    return {"n_reviews": len(reviews), "dim": int(X.shape[1])}


def _quality(keywords: list[list[str]], texts: list[str]) -> dict:
    from launchlab.insight.quality import npmi_coherence, topic_diversity

    return {"npmi": npmi_coherence(keywords, texts), "diversity": topic_diversity(keywords), "n_topics": len(keywords)}


def task_b_launchlab(n: int, work: Path, cache_dir: Path) -> dict:
    import numpy as np

    from launchlab.insight import InsightConfig, discover_needs

    reviews, embedder, X = _b_inputs(cache_dir)
    config = InsightConfig(level="review", seed=42)
    discover_needs(reviews.head(WARMUP_DOCS), embedder=embedder, config=config, embeddings=X[:WARMUP_DOCS])
    result, timing = _timed(lambda: discover_needs(reviews, embedder=embedder, config=config, embeddings=X))
    keywords = [list(k) for k in result.tables["needs"]["keywords"]]
    need = result.tables["reviews"]["need_id"].to_numpy()
    return {
        **timing, "peak_rss_mb": _peak_rss_mb(), "n_docs": len(reviews), "outlier_share": float(np.mean(need < 0)),
        **_quality(keywords, reviews["text"].tolist()),
    }


def task_b_bertopic(n: int, work: Path, cache_dir: Path) -> dict:
    import numpy as np

    try:
        from bertopic import BERTopic
    except ImportError:
        return {"skipped": "BERTopic is not installed (pip install -e .[bench])"}
    reviews, _, X = _b_inputs(cache_dir)
    docs = reviews["text"].tolist()
    BERTopic().fit_transform(docs[:WARMUP_DOCS], X[:WARMUP_DOCS])
    model = BERTopic()
    (topics, _), timing = _timed(lambda: model.fit_transform(docs, X))
    topics = np.asarray(topics)
    keywords = [[w for w, _ in model.get_topic(t)][:10] for t in sorted(set(topics.tolist())) if t != -1]
    return {
        **timing, "peak_rss_mb": _peak_rss_mb(), "n_docs": len(docs), "outlier_share": float(np.mean(topics == -1)),
        **_quality(keywords, docs),
    }


def distinct_reviews(n_mentions: int):
    """``bench_load.py``'s synthetic reviews with a reference number in every clause, so every
    mention is a distinct text (the cache then holds one vector per mention, as with real data)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_load import reviews_frame

    reviews = reviews_frame(n_mentions)
    reviews["text"] = [
        ". ".join(f"{clause} ref {i} {j}" for j, clause in enumerate(text.rstrip(".").split(". "))) + "."
        for i, text in enumerate(reviews["text"])
    ]
    return reviews


def task_c_stage(n: int, work: Path, cache_dir: Path, fit_cap: int | None = None, cached: bool = False) -> dict:
    from launchlab.embeddings import HashingEmbedder
    from launchlab.insight import InsightConfig, discover_needs

    reviews = distinct_reviews(n)
    rss_before = _peak_rss_mb()
    caps = {} if fit_cap is None else {"fit_cap": fit_cap}
    config = InsightConfig(level="mention", seed=0, cache_dir=work / f"c-cache-{n}" if cached else None, **caps)
    result, timing = _timed(lambda: discover_needs(reviews, embedder=HashingEmbedder(384), config=config))
    need = result.tables["mentions"]["need_id"].to_numpy()
    return {
        **timing, "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": rss_before, "n_reviews": len(reviews),
        "n_mentions": int(result.metrics["n_mentions"]), "n_needs": int(result.metrics["n_needs"]),
        "assigned": int((need >= 0).sum()), "cache_hits": int(result.metrics["embedding_cache_hits"]),
    }


TASKS = {
    "a_bare": task_a_bare,
    "a_cold": task_a_stage,
    "a_warm": lambda n, work, cache_dir: task_a_stage(n, work, cache_dir, warm=True),
    "a_cold_no_stars": lambda n, work, cache_dir: task_a_stage(n, work, cache_dir, stars=False),
    "a_warm_no_stars": lambda n, work, cache_dir: task_a_stage(n, work, cache_dir, warm=True, stars=False),
    "b_embed": task_b_embed,
    "b_launchlab": task_b_launchlab,
    "b_bertopic": task_b_bertopic,
    "c_stream": task_c_stage,
    "c_in_memory": lambda n, work, cache_dir: task_c_stage(n, work, cache_dir, fit_cap=sys.maxsize),
    "c_cache_cold": lambda n, work, cache_dir: task_c_stage(n, work, cache_dir, cached=True),
    "c_cache_warm": lambda n, work, cache_dir: task_c_stage(n, work, cache_dir, cached=True),
}


def _child(name: str, n: int, work: Path, cache_dir: Path) -> dict:
    print(f"  running {name}" + (f" on {n:,}" if n else ""), file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, __file__, "--task", name, "--n", str(n), "--work", str(work), "--cache-dir", str(cache_dir)],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"task {name} failed (its error is printed above)")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(row, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def part_a(n: int, work: Path, cache_dir: Path) -> None:
    shutil.rmtree(work / "cache", ignore_errors=True)
    shutil.rmtree(work / "cache-no-stars", ignore_errors=True)
    bare = _child("a_bare", n, work, cache_dir)
    runs = {
        "with stars (star-trained head)": (_child("a_cold", n, work, cache_dir), _child("a_warm", n, work, cache_dir)),
        "without stars (shipped layer head)": (
            _child("a_cold_no_stars", n, work, cache_dir), _child("a_warm_no_stars", n, work, cache_dir)
        ),
    }
    print(f"\nA. {n:,} clothing reviews -> {bare['n_mentions']:,} mentions, all-MiniLM-L6-v2 on CPU, {os.cpu_count()} cores")
    rows = [["bare SentenceTransformer.encode (peer)", f"{bare['wall_s']:.1f}", f"{bare['cpu_s']:.1f}", f"{bare['peak_rss_mb']:.0f}", "1.00x", ""]]
    for label, (cold, warm) in runs.items():
        rows += [
            [f"stage {label}, cold", f"{cold['wall_s']:.1f}", f"{cold['cpu_s']:.1f}", f"{cold['peak_rss_mb']:.0f}",
             f"{cold['wall_s'] / bare['wall_s']:.2f}x", f"{cold['n_needs']} needs, sentiment {cold['sentiment']}"],
            [f"stage {label}, warm", f"{warm['wall_s']:.1f}", f"{warm['cpu_s']:.1f}", f"{warm['peak_rss_mb']:.0f}",
             f"{warm['wall_s'] / bare['wall_s']:.3f}x", f"{warm['cache_hits']:,} cache hits; warm / cold = {warm['wall_s'] / cold['wall_s']:.3f}x"],
        ]
    print(_table(["run", "wall s", "CPU s", "peak RSS MB", "wall / bare", "notes"], rows))
    for label, (cold, warm) in runs.items():
        print(f"{label}: cold / bare = {cold['wall_s'] / bare['wall_s']:.2f}x (target <= 1.2x); "
              f"warm / cold = {warm['wall_s'] / cold['wall_s']:.3f}x (target <= 0.1x)", flush=True)


def part_b(work: Path, cache_dir: Path) -> None:
    embed = _child("b_embed", 0, work, cache_dir)
    ours = _child("b_launchlab", 0, work, cache_dir)
    peer = _child("b_bertopic", 0, work, cache_dir)
    print(f"\nB. full clothing corpus, review level: {embed['n_reviews']:,} reviews, same {embed['dim']}-d embeddings for both")
    rows = [["launchlab discover_needs", f"{ours['wall_s']:.1f}", f"{ours['cpu_s']:.1f}", f"{ours['peak_rss_mb']:.0f}", f"{ours['n_topics']}",
             f"{ours['outlier_share']:.1%}", f"{ours['npmi']:.3f}", f"{ours['diversity']:.3f}"]]
    if "skipped" in peer:
        print(f"BERTopic skipped: {peer['skipped']}")
    else:
        rows.append(["BERTopic() defaults (peer)", f"{peer['wall_s']:.1f}", f"{peer['cpu_s']:.1f}", f"{peer['peak_rss_mb']:.0f}", f"{peer['n_topics']}",
                     f"{peer['outlier_share']:.1%}", f"{peer['npmi']:.3f}", f"{peer['diversity']:.3f}"])
    print(_table(["method", "wall s", "CPU s", "peak RSS MB", "topics", "outliers", "NPMI", "diversity"], rows))
    if "skipped" not in peer:
        print(f"launchlab / BERTopic: {ours['wall_s'] / peer['wall_s']:.2f}x wall, {ours['cpu_s'] / peer['cpu_s']:.2f}x CPU; outliers {ours['outlier_share']:.1%} vs "
              f"{peer['outlier_share']:.1%}; NPMI {ours['npmi'] - peer['npmi']:+.3f}; diversity {ours['diversity'] - peer['diversity']:+.3f} "
              "(launchlab's wall time includes sentiment with 5-fold CV, quotes and unmet-need scores)", flush=True)


MODES = {
    "c_stream": "streamed, no cache",
    "c_cache_cold": "streamed, cold cache",
    "c_cache_warm": "streamed, warm cache",
    "c_in_memory": "in memory (peer)",
}


def part_c(sizes: list[int], in_memory_max: int, work: Path, cache_dir: Path) -> None:
    print("\nC. peak memory against corpus size, synthetic mentions, HashingEmbedder (384-d)")
    rows = []
    for n in sizes:
        modes = ["c_stream", "c_cache_cold", "c_cache_warm"] + (["c_in_memory"] if n <= in_memory_max else [])
        results = {mode: _child(mode, n, work, cache_dir) for mode in modes}
        for mode, r in results.items():
            peer = results.get("c_in_memory")
            rows.append([
                f"{r['n_mentions']:,}", MODES[mode], f"{r['wall_s']:.1f}",
                f"{r['rss_before_mb']:.0f}", f"{r['peak_rss_mb']:.0f}", f"{r['peak_rss_mb'] - r['rss_before_mb']:.0f}",
                f"{r['n_mentions'] * 384 * 4 / 2**20:.0f}",
                f"{r['peak_rss_mb'] / peer['peak_rss_mb']:.2f}x" if peer else "", f"{r['n_needs']}",
                f"{r['assigned']:,}", f"{r['cache_hits']:,}",
            ])
        shutil.rmtree(work / f"c-cache-{n}", ignore_errors=True)
    print(_table(["mentions", "mode", "wall s", "RSS before MB", "peak RSS MB", "stage MB", "embeddings MB",
                  "peak / in memory", "needs", "assigned", "cache hits"], rows), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["A", "B", "C", "all"], default="all")
    parser.add_argument("--reviews", type=int, default=5000, help="Clothing reviews for part A.")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "embeddings",
                        help="Embedding cache for part B's corpus embeddings (part A uses a fresh one).")
    parser.add_argument("--sizes", default="100000,300000,1000000", help="Mention counts for part C, comma-separated.")
    parser.add_argument("--in-memory-max", type=int, default=300_000,
                        help="Largest part C size also run with streaming off (the peer).")
    parser.add_argument("--task", choices=list(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(TASKS[args.task](args.n, args.work, args.cache_dir)))
        return

    work = Path(tempfile.mkdtemp(prefix="launchlab-bench-insight-"))
    try:
        print(f"launchlab insight benchmark; {os.cpu_count()} CPUs", flush=True)
        if args.part in ("A", "all"):
            part_a(args.reviews, work, args.cache_dir)
        if args.part in ("B", "all"):
            part_b(work, args.cache_dir)
        if args.part in ("C", "all"):
            part_c([int(s) for s in args.sizes.split(",")], args.in_memory_max, work, args.cache_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
