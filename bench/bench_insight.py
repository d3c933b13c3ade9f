"""Insight benchmark (issues #3 and #16): the stage against a bare PyTorch encode, the fast
embedding backend against fp32, throughput and memory at scale, and need discovery against
BERTopic. Each part prints figures and ratios against the peer measured in the same run.

Run by hand (not a test); parts A, Q and S are the default (``--help`` lists the options):

    PYTHONPATH=src HF_HUB_OFFLINE=1 nice .venv/bin/python bench/bench_insight.py                 # A, Q, S
    PYTHONPATH=src HF_HUB_OFFLINE=1 nice .venv/bin/python bench/bench_insight.py --part A --repeats 3
    PYTHONPATH=src HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_insight.py --part B --cache-dir .cache/embeddings
    PYTHONPATH=src .venv/bin/python bench/bench_insight.py --part C --sizes 100000,300000,1000000

Every task runs in a fresh interpreter, so its peak RSS (``ru_maxrss``) is its own; timings
exclude interpreter start, imports and model loading, for launchlab and the peers alike. Wall and
CPU seconds are both printed, and the load average before each task: on a shared machine the CPU
ratio is the steadier one.

- A (all-MiniLM-L6-v2): 3,000 clothing reviews (``load_reviews``, seed 42) split into mentions.
  Peer: a bare PyTorch fp32 ``SentenceTransformer.encode`` of the same mentions (batch 64). Then
  ``discover_needs(level="mention")`` with the ``--backend`` embedder (default: the int8 ONNX one)
  cold (empty embedding cache) and warm (same cache), with stars (star-trained head) and without
  (the shipped layer-feature head, which also reads hidden-layer means). ``--repeats`` runs the
  whole sequence again, interleaved, and the ratios are of the sums.
  Bars (issue 16): cold <= 0.5x the bare encode, warm <= 0.05x cold.
- Q (same sample): the ``--backend`` embedder against PyTorch fp32 on the same texts: cosine of
  the mention embeddings; need assignments of a stage run on each backend (ARI), beside the ARI of
  two fp32 runs with different seeds (the need model's own noise floor) and of the fp32 run's need
  model applied to fp32 and to fast vectors; accuracy of both shipped sentiment heads on the
  SemEval-15 polar sentences with fp32 and fast features. Bars: cosine >= 0.99 on average, ARI >=
  0.9, polarity within 0.5 points.
- S: the whole stage, cold and without a cache, on the ``--backend`` embedder: throughput
  (mentions per second, wall and per 2 CPU-seconds) and peak RSS on every usable clothing review
  (22,642 -> ~145k mentions) and the Amazon beauty reviews (5,269 -> ~23k mentions), then the
  moonshot corpus of ``--moonshot`` mentions: the real reviews of both corpora (~168k mentions)
  and then synthetic variations of them (each real mention prefixed with an opener such as
  "Honestly,"), so every mention is a distinct text. Bars: 1M mentions in <= 20 min on 2 cores,
  peak RSS <= 1.5 GB.
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

Last measured, issue 16 (2 cores shared with other agents, load average 12-20 throughout, so
wall times are inflated and the CPU ratios are the ones to read; the peer's CPU time is inflated
too, by PyTorch's threads spinning while they wait for a core):
A  int8 backend, 3,000 reviews -> 18,909 mentions, 1 repeat: bare torch encode 2,768 s wall /
   309 CPU s; cold stage with stars 291 s / 32 CPU s (0.11x wall, 0.10x CPU), without stars
   491 s / 30 CPU s (0.18x, 0.10x); warm / cold 0.30x wall, 0.12x CPU (with stars) and 0.08x,
   0.11x (without): the warm run's ~3.5 CPU s of need clustering and sentiment CV no longer
   hide behind a slow encode, so the 0.05x warm bar is missed. Peak RSS bare 908 MB, cold 933 /
   1,112 MB, warm 590 / 763 MB.
Q  int8 vs torch fp32, 1,000 reviews -> 6,302 mentions: mean cosine 0.9917 (1st percentile
   0.975, min 0.963); need ARI of a stage run per backend 0.679 (19 vs 23 needs), noise floor
   (two fp32 runs, seeds 42/43) 0.576 (19 vs 28 needs), the fp32 need model on fp32 vs int8
   vectors 0.954 (97.8% same need); SemEval-15 polarity fp32 -> int8: layer head 0.914 -> 0.913
   (restaurants), 0.936 -> 0.938 (laptops); sentence head 0.897 -> 0.894, 0.908 -> 0.902.
A  fp32 ONNX backend (the default), 1,000 reviews -> 6,302 mentions, load ~13: bare 971 s /
   104 CPU s; cold stage with stars 130 s / 20.6 CPU s (0.13x wall, 0.20x CPU), without stars
   122 s / 20.3 CPU s (0.13x, 0.19x); warm / cold 0.12x / 0.11x CPU, 0.09x / 0.09x.
Q  fp32 ONNX vs torch, same 6,302 mentions: cosine 1.0000; need ARI of a stage run per backend
   0.691 (19 vs 19 needs), the fp32 need model on both 1.000; polarity differences 0.0 pt.
S  int8, beauty (5,269 reviews -> 23,197 mentions): 578 s wall at load ~15, 35 CPU s, i.e.
   1,334 mentions per 2 CPU-seconds; peak RSS 1,096 MB; 12 needs. Clothing (145k mentions) and the
   1M moonshot were not run to the end on this machine this session.
Issue 3 figures (quiet machine, torch backend): A 31,756 mentions: bare encode 95.3 s, cold
   stage 97.7 s (1.02x), warm 5.5 s (0.056x cold); B launchlab 6.1 s, 7 needs, 0% outliers, NPMI
   0.047 vs BERTopic 41.3 s, 194 topics, 43.2% outliers, NPMI -0.095; C peak RSS streamed vs in
   memory 741 vs 1,169 MB at 100k mentions, 842 vs 3,021 MB at 300k, 1M streamed 1,212 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOTHING = ROOT / "data" / "womens_clothing_reviews.parquet"
BEAUTY = ROOT / ".." / "shared" / "data" / "reviews" / "amazon2018_all_beauty_5core.json.gz"
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


def task_a_bare(n: int, work: Path, cache_dir: Path, backend: str) -> dict:
    """The peer: a bare PyTorch fp32 ``SentenceTransformer.encode`` of the stage's mention texts."""
    from sentence_transformers import SentenceTransformer

    from launchlab.embeddings import resolve_model_path

    texts = _mention_texts(_reviews(n))
    model = SentenceTransformer(str(resolve_model_path()), device="cpu")
    model.encode(texts[:64], batch_size=64, show_progress_bar=False)
    _, timing = _timed(lambda: model.encode(texts, batch_size=64, show_progress_bar=False))
    return {**timing, "peak_rss_mb": _peak_rss_mb(), "n_mentions": len(texts)}


def _embedder(backend: str):
    from launchlab.embeddings import DEFAULT_MODEL, load_embedder

    embedder = load_embedder(f"{DEFAULT_MODEL}@{backend}")
    if embedder.backend != backend:
        raise SystemExit(f"backend {backend} unavailable: {embedder.notes}")
    return embedder


def task_a_stage(n: int, work: Path, cache_dir: Path, backend: str, warm: bool = False, stars: bool = True) -> dict:
    """The stage on the sample with the ``backend`` embedder; ``stars=False`` drops the ratings, so
    the shipped layer-feature sentiment head scores the mentions (the embedder then also returns
    hidden-layer means)."""
    from launchlab.insight import InsightConfig, discover_needs

    reviews = _reviews(n)
    if not stars:
        reviews = reviews.drop(columns=["rating"])
    embedder = _embedder(backend)
    if not warm:  # load the model outside the timing, as the bare peer does; the cache stays empty
        embedder.encode(_mention_texts(reviews.head(20))[:64])
    folder = f"cache-{backend}" + ("" if stars else "-no-stars")
    config = InsightConfig(level="mention", seed=42, cache_dir=work / folder)
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


def task_b_embed(n: int, work: Path, cache_dir: Path, backend: str) -> dict:
    reviews, _, X = _b_inputs(cache_dir)
    return {"n_reviews": len(reviews), "dim": int(X.shape[1])}


def _quality(keywords: list[list[str]], texts: list[str]) -> dict:
    from launchlab.insight.quality import npmi_coherence, topic_diversity

    return {"npmi": npmi_coherence(keywords, texts), "diversity": topic_diversity(keywords), "n_topics": len(keywords)}


def task_b_launchlab(n: int, work: Path, cache_dir: Path, backend: str) -> dict:
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


def task_b_bertopic(n: int, work: Path, cache_dir: Path, backend: str) -> dict:
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


def task_c_stage(n: int, work: Path, cache_dir: Path, backend: str, fit_cap: int | None = None, cached: bool = False) -> dict:
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


# Part Q: the fast backend against PyTorch fp32 on the same texts


def task_q_embed(n: int, work: Path, cache_dir: Path, backend: str) -> dict:
    """Embed the part A mentions (filling this backend's cache for the stage run that follows) and
    the SemEval-15 polar sentences with layer features; vectors saved as .npy in ``work``."""
    import numpy as np

    from launchlab.insight.cache import CachedEmbedder
    from launchlab.insight.evaluate import ABSA, SEMEVAL15, load_semeval15

    embedder = _embedder(backend)
    texts = _mention_texts(_reviews(n))
    np.save(work / f"q-mentions-{backend}.npy", CachedEmbedder(embedder, work / "q-cache").encode(texts))
    layered = embedder.with_layers((2, 4, 6))
    for domain, name in SEMEVAL15.items():
        frame = load_semeval15(ABSA / name)
        polar = frame[frame["polarity"].notna()]
        np.save(work / f"q-semeval-{domain}-{backend}.npy", layered.encode(polar["text"].tolist()))
        np.save(work / f"q-semeval-{domain}-y.npy", (polar["polarity"] == "positive").to_numpy().astype(int))
    return {"n_mentions": len(texts)}


def task_q_stage(n: int, work: Path, cache_dir: Path, backend: str, seed: int = 42) -> dict:
    """The stage (with stars) on the part A sample, embeddings read from the cache just filled;
    ``seed`` 43 (torch only) gives the seed-to-seed agreement of the need model itself."""
    import numpy as np

    from launchlab.insight import InsightConfig, discover_needs

    config = InsightConfig(level="mention", seed=seed, cache_dir=work / "q-cache")
    result = discover_needs(_reviews(n), embedder=_embedder(backend), config=config)
    ids = _mention_ids(n)
    tag = backend if seed == 42 else f"{backend}-seed{seed}"
    np.save(work / f"q-needs-{tag}.npy", result.tables["mentions"].set_index("mention_id").loc[ids, "need_id"].to_numpy())
    if seed != 42:
        return {"n_needs": int(result.metrics["n_needs"])}
    with open(work / f"q-need-model-{backend}.pkl", "wb") as handle:  # a temporary file of this run
        pickle.dump(result.models["launchlab-needs"], handle)
    return {"n_needs": int(result.metrics["n_needs"]), "cache_hits": int(result.metrics["embedding_cache_hits"]),
            "n_mentions": int(result.metrics["n_mentions"])}


def _mention_ids(n: int) -> list[str]:
    from launchlab.insight.mentions import split_mentions

    reviews = _reviews(n)
    return split_mentions(reviews["review_id"].tolist(), reviews["text"].tolist())["mention_id"].tolist()


# Part S: throughput and memory of the whole stage at scale, fast backend, no cache


def _corpus(name: str):
    import pandas as pd

    from launchlab.io import load_reviews

    if name == "clothing":
        return _reviews(None)
    if name == "beauty":
        return load_reviews(BEAUTY).frame
    frames = [_reviews(None).assign(review_id=lambda f: "c" + f["review_id"].astype(str)),
              load_reviews(BEAUTY).frame.assign(review_id=lambda f: "b" + f["review_id"].astype(str))]
    return pd.concat(frames, ignore_index=True)[["review_id", "text", "rating"]]


OPENERS = ["Honestly,", "Overall,", "To be fair,", "Also,", "Frankly,", "In short,", "For me,", "Still,", "Really,",
           "Oddly,", "Sadly,", "Happily,", "Basically,", "As expected,", "Surprisingly,", "Again,", "Plus,", "Truly,",
           "Clearly,", "Simply put,"]


def moonshot_reviews(n_mentions: int):
    """The real reviews (clothing + beauty, ~168k mentions) first, then synthetic variations of them
    until the corpus has ``n_mentions`` mentions: each variation is a real review whose every
    mention starts with an opener ("Honestly, the fabric is soft"), a different opener pair per
    pass, so every synthetic mention is a new text of real wording. Column ``synthetic`` says which."""
    import pandas as pd

    from launchlab.insight.mentions import split_text

    real = _corpus("both").assign(synthetic=False)
    pieces = [split_text(t) or [str(t)] for t in real["text"]]
    sizes = [len(p) for p in pieces]
    frames, total, k = [real], sum(sizes), 0
    while total < n_mentions:
        a, b = OPENERS[k % len(OPENERS)], OPENERS[(k // len(OPENERS) + k + 1) % len(OPENERS)]
        rows, texts = [], []
        for i, ps in enumerate(pieces):
            if total >= n_mentions:
                break
            texts.append(" ".join(f"{a if j % 2 == 0 else b} {p[:1].lower()}{p[1:]}" for j, p in enumerate(ps)))
            rows.append(i)
            total += sizes[i]
        frames.append(real.iloc[rows].assign(text=texts, review_id=[f"s{k}-{r}" for r in real["review_id"].iloc[rows]],
                                             synthetic=True))
        k += 1
    return pd.concat(frames, ignore_index=True)


def task_s_stage(n: int, work: Path, cache_dir: Path, backend: str, corpus: str = "clothing") -> dict:
    """The whole stage, cold and without a cache, on a real corpus (``n`` = 0) or the moonshot
    corpus of ``n`` mentions; the embedder is loaded before the clock starts."""
    import numpy as np

    from launchlab.insight import InsightConfig, discover_needs

    reviews = moonshot_reviews(n) if n else _corpus(corpus)
    synthetic = int(reviews.pop("synthetic").sum()) if "synthetic" in reviews else 0
    embedder = _embedder(backend)
    embedder.encode(["warm-up"])
    rss_before = _peak_rss_mb()
    config = InsightConfig(level="mention", seed=42)
    result, timing = _timed(lambda: discover_needs(reviews, embedder=embedder, config=config))
    mentions = result.tables["mentions"]
    real = ~mentions["review_id"].astype(str).str.startswith("s") if n else np.ones(len(mentions), bool)
    return {**timing, "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": rss_before, "n_reviews": len(reviews),
            "synthetic_reviews": synthetic, "n_mentions": int(result.metrics["n_mentions"]),
            "real_mentions": int(real.sum()), "n_needs": int(result.metrics["n_needs"]),
            "assigned": float(np.mean(mentions["need_id"].to_numpy() >= 0))}


TASKS = {
    "a_bare": task_a_bare,
    "a_cold": task_a_stage,
    "a_warm": lambda n, work, cache_dir, backend: task_a_stage(n, work, cache_dir, backend, warm=True),
    "a_cold_no_stars": lambda n, work, cache_dir, backend: task_a_stage(n, work, cache_dir, backend, stars=False),
    "a_warm_no_stars": lambda n, work, cache_dir, backend: task_a_stage(n, work, cache_dir, backend, warm=True, stars=False),
    "b_embed": task_b_embed,
    "b_launchlab": task_b_launchlab,
    "b_bertopic": task_b_bertopic,
    "c_stream": task_c_stage,
    "c_in_memory": lambda n, work, cache_dir, backend: task_c_stage(n, work, cache_dir, backend, fit_cap=sys.maxsize),
    "c_cache_cold": lambda n, work, cache_dir, backend: task_c_stage(n, work, cache_dir, backend, cached=True),
    "c_cache_warm": lambda n, work, cache_dir, backend: task_c_stage(n, work, cache_dir, backend, cached=True),
    "q_embed": task_q_embed,
    "q_stage": task_q_stage,
    "q_stage_seed": lambda n, work, cache_dir, backend: task_q_stage(n, work, cache_dir, backend, seed=43),
    "s_clothing": lambda n, work, cache_dir, backend: task_s_stage(0, work, cache_dir, backend, "clothing"),
    "s_beauty": lambda n, work, cache_dir, backend: task_s_stage(0, work, cache_dir, backend, "beauty"),
    "s_moonshot": task_s_stage,
}


def _load() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _child(name: str, n: int, work: Path, cache_dir: Path, backend: str = "torch") -> dict:
    print(f"  running {name} [{backend}]" + (f" on {n:,}" if n else "") + f"  ({_load()})", file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, __file__, "--task", name, "--n", str(n), "--work", str(work), "--cache-dir", str(cache_dir),
         "--backend", backend],
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


def part_a(n: int, work: Path, cache_dir: Path, backend: str, repeats: int) -> None:
    """Bare PyTorch encode (peer) and the stage on ``backend``, interleaved: each repeat runs the peer,
    then the stage cold and warm with stars, then cold and warm without stars (layer head)."""
    runs: list[dict] = []
    for r in range(repeats):
        for folder in ("cache", "cache-no-stars"):
            shutil.rmtree(work / folder.replace("cache", f"cache-{backend}"), ignore_errors=True)
        load = os.getloadavg()[0]
        runs.append({
            "bare": _child("a_bare", n, work, cache_dir),
            "with stars": (_child("a_cold", n, work, cache_dir, backend), _child("a_warm", n, work, cache_dir, backend)),
            "without stars": (_child("a_cold_no_stars", n, work, cache_dir, backend),
                              _child("a_warm_no_stars", n, work, cache_dir, backend)),
            "load": (load + os.getloadavg()[0]) / 2,
        })
    first = runs[0]
    print(f"\nA. {n:,} clothing reviews -> {first['bare']['n_mentions']:,} mentions, all-MiniLM-L6-v2 on CPU, "
          f"{os.cpu_count()} cores; stage embedder backend: {backend}; {repeats} interleaved repeat(s)")
    rows = []
    for r, run in enumerate(runs, 1):
        bare = run["bare"]
        rows.append([f"#{r} bare SentenceTransformer.encode, torch fp32 (peer)", f"{bare['wall_s']:.1f}", f"{bare['cpu_s']:.1f}",
                     f"{bare['peak_rss_mb']:.0f}", "1.00x", "1.00x", f"load {run['load']:.1f}"])
        for label in ("with stars", "without stars"):
            cold, warm = run[label]
            rows += [
                [f"#{r} stage {label}, cold", f"{cold['wall_s']:.1f}", f"{cold['cpu_s']:.1f}", f"{cold['peak_rss_mb']:.0f}",
                 f"{cold['wall_s'] / bare['wall_s']:.2f}x", f"{cold['cpu_s'] / bare['cpu_s']:.2f}x",
                 f"{cold['n_needs']} needs, sentiment {cold['sentiment']}"],
                [f"#{r} stage {label}, warm", f"{warm['wall_s']:.1f}", f"{warm['cpu_s']:.1f}", f"{warm['peak_rss_mb']:.0f}",
                 f"{warm['wall_s'] / bare['wall_s']:.3f}x", f"{warm['cpu_s'] / bare['cpu_s']:.3f}x",
                 f"{warm['cache_hits']:,} cache hits; warm / cold = {warm['wall_s'] / cold['wall_s']:.3f}x wall"],
            ]
    print(_table(["run", "wall s", "CPU s", "peak RSS MB", "wall / bare", "CPU / bare", "notes"], rows))
    bare_wall = sum(r["bare"]["wall_s"] for r in runs)
    bare_cpu = sum(r["bare"]["cpu_s"] for r in runs)
    for label in ("with stars", "without stars"):
        cold_wall, cold_cpu = sum(r[label][0]["wall_s"] for r in runs), sum(r[label][0]["cpu_s"] for r in runs)
        warm_wall, warm_cpu = sum(r[label][1]["wall_s"] for r in runs), sum(r[label][1]["cpu_s"] for r in runs)
        print(f"stage {label} [{backend}], summed over repeats: cold / bare = {cold_wall / bare_wall:.2f}x wall, "
              f"{cold_cpu / bare_cpu:.2f}x CPU (bar <= 0.5x); warm / cold = {warm_wall / cold_wall:.3f}x wall, "
              f"{warm_cpu / cold_cpu:.3f}x CPU (bar <= 0.05x)", flush=True)


def part_q(n: int, work: Path, cache_dir: Path, backend: str) -> None:
    """``backend`` against PyTorch fp32 on the same texts: embeddings, need assignments, polarity."""
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    from launchlab.embeddings import DEFAULT_MODEL
    from launchlab.insight.sentiment import load_default_head, load_default_layer_head

    shutil.rmtree(work / "q-cache", ignore_errors=True)
    for name in ("torch", backend):
        _child("q_embed", n, work, cache_dir, name)
    stages = {name: _child("q_stage", n, work, cache_dir, name) for name in ("torch", backend)}
    reseeded = _child("q_stage_seed", n, work, cache_dir, "torch")
    ref, fast = np.load(work / "q-mentions-torch.npy"), np.load(work / f"q-mentions-{backend}.npy")
    cosine = np.sum(ref * fast, axis=1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(fast, axis=1)
    needs = {name: np.load(work / f"q-needs-{name}.npy") for name in ("torch", backend)}
    with open(work / "q-need-model-torch.pkl", "rb") as handle:
        fp32_model = pickle.load(handle)
    fixed = fp32_model.predict(ref), fp32_model.predict(fast)
    assert adjusted_rand_score(fixed[0], needs["torch"]) > 0.999, "the fp32 need model must reproduce its own run"
    print(f"\nQ. {backend} vs torch fp32 on the same texts ({n:,} clothing reviews -> {len(ref):,} mentions; SemEval-15 polar sentences)")
    rows = [["embedding cosine to fp32, mean", f"{cosine.mean():.4f}", ">= 0.99"],
            ["embedding cosine, 1st percentile / min", f"{np.percentile(cosine, 1):.4f} / {cosine.min():.4f}", ""],
            [f"need assignments, stage run on each backend: ARI ({stages['torch']['n_needs']} vs {stages[backend]['n_needs']} needs)",
             f"{adjusted_rand_score(needs['torch'], needs[backend]):.3f}", ">= 0.9"],
            [f"  noise floor: torch with seed 43 vs 42 (same vectors): ARI ({reseeded['n_needs']} vs {stages['torch']['n_needs']} needs)",
             f"{adjusted_rand_score(needs['torch'], np.load(work / 'q-needs-torch-seed43.npy')):.3f}", ""],
            ["need assignments, the fp32 run's need model on fp32 vs fast vectors: ARI",
             f"{adjusted_rand_score(*fixed):.3f} (same need {np.mean(fixed[0] == fixed[1]):.1%})", ""]]
    layer_head = load_default_layer_head(None, model_id=DEFAULT_MODEL, dim=384)
    sentence_head = load_default_head(None, model_id=DEFAULT_MODEL, dim=384)
    for domain in ("restaurants", "laptops"):
        y = np.load(work / f"q-semeval-{domain}-y.npy")
        F = {name: np.load(work / f"q-semeval-{domain}-{name}.npy").astype(np.float64) for name in ("torch", backend)}
        for label, head, view in (("layer head", layer_head.head, lambda X: X), ("sentence head", sentence_head, lambda X: X[:, :384])):
            acc = {name: float(np.mean(head.predict(view(X)) == y)) for name, X in F.items()}
            agree = float(np.mean(head.predict(view(F["torch"])) == head.predict(view(F[backend]))))
            rows.append([f"SemEval-15 {domain} ({len(y):,}), shipped {label}: accuracy fp32 -> {backend}",
                         f"{acc['torch']:.3f} -> {acc[backend]:.3f} ({100 * (acc[backend] - acc['torch']):+.1f} pt; agree {agree:.1%})",
                         "within 0.5 pt"])
    print(_table(["measure", "value", "bar"], rows))
    print("(the shipped heads were trained on these SemEval-15 sentences among others, so the accuracies are "
          "in-sample; the difference between backends is what the bar reads)", flush=True)


def part_s(work: Path, cache_dir: Path, backend: str, moonshot: int, corpora: list[str]) -> None:
    """Throughput and peak RSS of the whole stage on the real corpora, then the moonshot corpus."""
    labels = {"clothing": "clothing, all usable reviews (real)", "beauty": "beauty, Amazon 2018 All_Beauty (real)"}
    results = [(labels[c], _child(f"s_{c}", 0, work, cache_dir, backend)) for c in corpora]
    if moonshot:
        results.append(("moonshot: real clothing + beauty, then synthetic variations", _child("s_moonshot", moonshot, work, cache_dir, backend)))
    print(f"\nS. the whole insight stage, cold, no cache, embedder backend {backend}, {os.cpu_count()} cores ({_load()} at the end)")
    rows = [[label, f"{r['n_reviews']:,}", f"{r['n_mentions']:,}", f"{r['real_mentions']:,}", f"{r['wall_s']:.0f}", f"{r['cpu_s']:.0f}",
             f"{r['n_mentions'] / r['wall_s']:.0f}", f"{r['n_mentions'] / r['cpu_s'] * 2:.0f}", f"{r['peak_rss_mb']:.0f}",
             f"{r['n_needs']}"] for label, r in results]
    print(_table(["corpus", "reviews", "mentions", "real mentions", "wall s", "CPU s", "mentions/s wall",
                  "mentions/s per 2 CPU-s", "peak RSS MB", "needs"], rows))
    if moonshot:
        r = results[-1][1]
        print(f"moonshot: {r['n_mentions']:,} mentions ({r['real_mentions']:,} real) in {r['wall_s'] / 60:.1f} min wall, "
              f"{r['cpu_s'] / 60:.1f} CPU-min (bar <= 20 min on 2 cores, i.e. <= 40 CPU-min), peak RSS {r['peak_rss_mb']:,.0f} MB "
              "(bar <= 1,536 MB)", flush=True)


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
    from launchlab.embeddings import BACKENDS, DEFAULT_BACKEND

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Example: PYTHONPATH=src HF_HUB_OFFLINE=1 nice .venv/bin/python bench/bench_insight.py --part A,Q")
    parser.add_argument("--part", default="A,Q,S", help="Parts to run, comma-separated: A, B, C, Q, S or all (default A,Q,S).")
    parser.add_argument("--reviews", type=int, default=3000, help="Clothing reviews for parts A and Q (default 3,000).")
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                        help=f"Embedder backend of the stage in parts A, Q and S (default {DEFAULT_BACKEND}); the peer is always torch fp32.")
    parser.add_argument("--repeats", type=int, default=2, help="Interleaved repeats of part A (default 2).")
    parser.add_argument("--moonshot", type=int, default=1_000_000,
                        help="Mentions of part S's last corpus (real, then synthetic variations); 0 skips it.")
    parser.add_argument("--corpora", default="clothing,beauty", help="Real corpora of part S, comma-separated (default clothing,beauty).")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "embeddings",
                        help="Embedding cache for part B's corpus embeddings (parts A and Q use fresh ones).")
    parser.add_argument("--sizes", default="100000,300000,1000000", help="Mention counts for part C, comma-separated.")
    parser.add_argument("--in-memory-max", type=int, default=300_000,
                        help="Largest part C size also run with streaming off (the peer).")
    parser.add_argument("--task", choices=list(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        print(json.dumps(TASKS[args.task](args.n, args.work, args.cache_dir, args.backend)))
        return

    parts = {"A", "B", "C", "Q", "S"} if args.part.lower() == "all" else {p.strip().upper() for p in args.part.split(",")}
    work = Path(tempfile.mkdtemp(prefix="launchlab-bench-insight-"))
    try:
        print(f"launchlab insight benchmark; {os.cpu_count()} CPUs; {_load()} at the start", flush=True)
        if "A" in parts:
            part_a(args.reviews, work, args.cache_dir, args.backend, args.repeats)
        if "Q" in parts:
            part_q(args.reviews, work, args.cache_dir, args.backend)
        if "S" in parts:
            part_s(work, args.cache_dir, args.backend, args.moonshot, [c for c in args.corpora.split(",") if c])
        if "B" in parts:
            part_b(work, args.cache_dir)
        if "C" in parts:
            part_c([int(s) for s in args.sizes.split(",")], args.in_memory_max, work, args.cache_dir)
        print(f"done; {_load()} at the end", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
