"""Measure the insight stage against gold labels: SemEval ABSA sentence polarity and aspect categories.

    python -m launchlab.insight.evaluate [--absa DIR] [--seed 42] [--cache-dir DIR]

prints, for the SemEval-2015 restaurants and laptops training sets:

- sentence polarity accuracy (sentences whose opinions are all positive or all negative) of the
  shipped default sentiment head (trained on clothing reviews only, so all SemEval sentences are
  held out) and of the word-list fallback;
- need discovery NMI against the gold aspect categories of single-category sentences, at the
  entity level (FOOD) and the full level (FOOD#QUALITY), for :class:`NeedModel` and for k-means
  with k = number of gold categories on the same embeddings.

Nothing is downloaded; the XML files are read from ``../shared/data/absa`` beside the project.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

ABSA = Path(__file__).resolve().parents[4] / "shared" / "data" / "absa"
SEMEVAL15 = {"restaurants": "semeval15_restaurants_train.xml", "laptops": "semeval15_laptops_train.xml"}


def load_semeval15(path: str | Path) -> pd.DataFrame:
    """One row per sentence with opinions: ``sentence_id, text, polarity, category, entity``.

    ``polarity`` is ``positive``/``negative`` when all the sentence's opinions agree, else None;
    ``category`` is the gold category when the sentence has exactly one distinct category, else None.
    """
    rows = []
    for sentence in ET.parse(path).getroot().iter("sentence"):
        opinions = sentence.findall("./Opinions/Opinion")
        if not opinions:
            continue
        text = (sentence.findtext("text") or "").strip()
        polarities = {o.get("polarity") for o in opinions}
        categories = {o.get("category") for o in opinions}
        polarity = polarities.pop() if len(polarities) == 1 and polarities <= {"positive", "negative"} else None
        category = categories.pop() if len(categories) == 1 else None
        rows.append(
            {
                "sentence_id": sentence.get("id"),
                "text": text,
                "polarity": polarity,
                "category": category,
                "entity": category.split("#")[0] if category else None,
            }
        )
    return pd.DataFrame(rows)


def polarity_accuracy(scores: np.ndarray, polarity: pd.Series) -> float:
    """Accuracy of ``scores > 0`` against ``positive``/``negative`` gold labels."""
    gold = (polarity.to_numpy() == "positive")
    return float(np.mean((np.asarray(scores) > 0) == gold))


def nmi_vs_kmeans(X: np.ndarray, gold: pd.Series, texts: list[str], *, seed: int = 42) -> dict[str, float]:
    """NMI with the gold labels of the need model and of k-means with k = number of gold labels."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from launchlab.insight.needs import NeedModel

    k = int(gold.nunique())
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(X)
    model = NeedModel(seed=seed).fit(X, texts=texts)
    mask = model.labels_ >= 0
    return {
        "kmeans_nmi": float(normalized_mutual_info_score(gold, km)),
        "need_model_nmi": float(normalized_mutual_info_score(gold[mask], model.labels_[mask])),
        "need_model_k": float(model.n_needs_),
        "gold_k": float(k),
    }


def main(argv: list[str] | None = None) -> int:
    from launchlab.embeddings import SentenceTransformerEmbedder
    from launchlab.insight.sentiment import lexicon_polarity, load_default_head

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--absa", type=Path, default=ABSA, help="folder with the SemEval XML files")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache directory (optional)")
    args = parser.parse_args(argv)
    embedder = SentenceTransformerEmbedder()
    head = load_default_head(None, model_id=embedder.model_id, dim=embedder.dim)
    if args.cache_dir is not None:
        from launchlab.insight.cache import CachedEmbedder

        embedder = CachedEmbedder(embedder, args.cache_dir)
    for domain, name in SEMEVAL15.items():
        path = args.absa / name
        if not path.is_file():
            print(f"{domain}: {path} not found, skipped")
            continue
        df = load_semeval15(path)
        X = embedder.encode(df["text"].tolist())
        pol = df["polarity"].notna().to_numpy()
        line = [f"{domain}: polarity sentences={int(pol.sum())}"]
        if head is not None:
            line.append(f"default_head_acc={polarity_accuracy(head.polarity(X[pol]), df.loc[pol, 'polarity']):.3f}")
        line.append(f"lexicon_acc={polarity_accuracy(lexicon_polarity(df.loc[pol, 'text'].tolist()), df.loc[pol, 'polarity']):.3f}")
        print(" ".join(line))
        single = df["category"].notna().to_numpy()
        texts = df.loc[single, "text"].tolist()
        for level in ("entity", "category"):
            r = nmi_vs_kmeans(X[single], df.loc[single, level].reset_index(drop=True), texts, seed=args.seed)
            print(
                f"{domain} {level}: n={int(single.sum())} gold_k={r['gold_k']:.0f} kmeans_nmi={r['kmeans_nmi']:.3f} "
                f"need_model_nmi={r['need_model_nmi']:.3f} (k={r['need_model_k']:.0f})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
