"""Fixtures: small handmade needs tables whose centroids come from the same test embedder as the
concepts, and (for the slow tests) needs built from the real clothing reviews with the real model.

The real needs are built by keyword rules, not by the insight stage, so that the tests check the
concept stage alone: each rule collects the reviews that mention a known theme.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launchlab.embeddings import HashingEmbedder

REPO = Path(__file__).parents[2]
CONCEPTS_YAML = REPO / "data" / "concepts.yaml"
REVIEWS = REPO / "data" / "womens_clothing_reviews.parquet"  # bundled CC0 corpus (as in ../shared/data/reviews/)

THEMES = {
    "runs small / size up": r"\bruns? small|size up|too (?:small|tight)|sized up",
    "thin, see-through fabric": r"see[- ]through|sheer|too thin|\bthin\b",
    "shrinks or pills after washing": r"\bwash|shrunk|shrink|pill",
    "too long for petites": r"\bpetite",
    "beautiful color and print": r"\bcolou?rs?\b|\bprint\b",
    "soft and comfortable": r"\bsoft\b|comfortable|comfy|cozy",
}

NEED_TEXTS = {
    "runs small": (
        0.35, -0.30, 0.45,
        ["this dress runs small, order a size up", "runs small in the bust and too tight",
         "size runs small and tight, had to return it", "way too small, the sizing is off"],
    ),
    "see-through fabric": (
        0.25, -0.20, 0.50,
        ["the fabric is thin and see through", "so sheer you need a camisole underneath",
         "thin fabric, see through in white", "cheap thin material, you can see everything"],
    ),
    "love the color": (
        0.30, 0.80, 0.05,
        ["love the color, beautiful print", "gorgeous colors and a pretty print",
         "beautiful color, I love it", "the print is so pretty and vibrant"],
    ),
    "soft and comfy": (
        0.10, 0.60, 0.10,
        ["so soft and comfy to lounge in", "super soft and cozy fabric",
         "comfortable and soft, wear it every weekend"],
    ),
}  # fmt: skip


def make_needs(embedder: HashingEmbedder, n_total: int = 400) -> pd.DataFrame:
    rows = []
    for need_id, (label, (share, sentiment, neg, texts)) in enumerate(NEED_TEXTS.items()):
        centroid = embedder.encode(texts).mean(axis=0)
        rows.append(
            {
                "need_id": need_id,
                "label": label,
                "keywords": label.split(),
                "n_reviews": int(round(share * n_total)),
                "share": share,
                "sentiment_mean": sentiment,
                "neg_share": neg,
                "quotes": texts[:3],
                "centroid": (centroid / np.linalg.norm(centroid)).tolist(),
            }
        )
    return pd.DataFrame(rows)


def make_concepts(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if "claims" not in frame:
        frame["claims"] = [[] for _ in range(len(frame))]
    frame["source_row"] = np.arange(1, len(frame) + 1)
    return frame


BASE_CONCEPTS = [
    {
        "concept_id": "fit",
        "name": "True-size dress",
        "description": "A dress that does not run small: sizing that is true in the bust, no need to size up.",
        "claims": ["Never too tight or too small", "Order your usual size"],
        "price": 90.0,
        "category": "Dresses",
    },
    {
        "concept_id": "opaque",
        "name": "Opaque tee",
        "description": "A thick tee that is not see through, no camisole needed underneath.",
        "claims": ["Not sheer, even in white"],
        "price": 35.0,
        "category": "Knits",
    },
    {
        "concept_id": "print",
        "name": "Print skirt",
        "description": "A skirt with a beautiful vibrant print in pretty colors.",
        "claims": [],
        "price": 60.0,
        "category": "Skirts",
    },
    {
        "concept_id": "eggs",
        "name": "Smart egg cooker",
        "description": "A countertop kitchen appliance that steams eggs to the doneness you choose.",
        "claims": ["Dishwasher-safe parts"],
        "price": 29.0,
        "category": "Kitchen",
    },
]


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def needs(embedder: HashingEmbedder) -> pd.DataFrame:
    return make_needs(embedder)


@pytest.fixture
def concepts() -> pd.DataFrame:
    return make_concepts([dict(c) for c in BASE_CONCEPTS])


@pytest.fixture
def build_concepts():
    """``build_concepts(rows)`` → a concepts frame as the loader makes it."""
    return make_concepts


@pytest.fixture
def build_needs():
    """``build_needs(embedder, n_total=400)`` → the handmade needs table."""
    return make_needs


class CachingEmbedder:
    """Wraps an embedder and remembers every text it encoded (the real model is slow on 2 cores)."""

    def __init__(self, inner) -> None:
        self.inner, self.dim, self.model_id, self._cache = inner, inner.dim, inner.model_id, {}

    def encode(self, texts, *, batch_size: int = 64, progress=None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(map(str, texts)) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self.inner.encode(missing, batch_size=batch_size)))
        return np.array([self._cache[str(t)] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)


def theme_needs(reviews: pd.DataFrame, embedder, n_per_theme: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Needs (one per theme, first matching theme wins) and the reviews with need_id/sentiment."""
    text = reviews["text"].str.lower()
    need_id = pd.Series(-1, index=reviews.index)
    rows = []
    for j, (label, pattern) in enumerate(THEMES.items()):
        hit = text.str.contains(pattern, regex=True) & (need_id < 0)
        need_id[hit] = j
        group = reviews[hit]
        sample = group.head(n_per_theme)
        centroid = embedder.encode(sample["text"].tolist()).mean(axis=0)
        rows.append(
            {
                "need_id": j,
                "label": label,
                "keywords": label.split(),
                "n_reviews": int(hit.sum()),
                "sentiment_mean": float(((group["rating"] - 3) / 2).mean()),
                "neg_share": float((group["rating"] <= 3).mean()),
                "quotes": sample["text"].head(3).tolist(),
                "centroid": (centroid / np.linalg.norm(centroid)).tolist(),
            }
        )
    needs = pd.DataFrame(rows)
    needs["share"] = needs["n_reviews"] / needs["n_reviews"].sum()
    out = reviews.assign(need_id=need_id.to_numpy(), sentiment=((reviews["rating"] - 3) / 2).to_numpy())
    return needs, out


@pytest.fixture(scope="session")
def clothing_reviews() -> pd.DataFrame:
    """6,000 real reviews (seeded sample) in canonical columns plus age and division."""
    raw = pd.read_parquet(REVIEWS).dropna(subset=["Review Text"]).sample(6000, random_state=0)
    return pd.DataFrame(
        {
            "review_id": raw.index.astype(str),
            "text": raw["Review Text"].to_numpy(),
            "rating": raw["Rating"].to_numpy(),
            "category": raw["Class Name"].to_numpy(),
            "age": raw["Age"].to_numpy(),
            "division": raw["Division Name"].to_numpy(),
        }
    ).reset_index(drop=True)


@pytest.fixture(scope="session")
def real_embedder():
    from launchlab.embeddings import SentenceTransformerEmbedder

    return CachingEmbedder(SentenceTransformerEmbedder())


@pytest.fixture(scope="session")
def real_needs(clothing_reviews, real_embedder) -> tuple[pd.DataFrame, pd.DataFrame]:
    return theme_needs(clothing_reviews, real_embedder)


PERSONA_SETUP = {
    # need label: (sentiment, category, ages)
    "runs small": (-0.6, "Dresses", (24, 27, 31, 35)),
    "see-through fabric": (-0.7, "Knits", (52, 55, 58, 61)),
    "love the color": (0.8, "Skirts", (33, 38, 44, 47)),
    "soft and comfy": (0.6, "Knits", (29, 41, 45, 67)),
}


def make_reviews(needs: pd.DataFrame, copies: int = 3) -> pd.DataFrame:
    """Reviews (personas) of the handmade needs: each need's texts, repeated, with segments."""
    rows = []
    for need in needs.itertuples():
        sentiment, category, ages = PERSONA_SETUP[need.label]
        texts = NEED_TEXTS[need.label][3]
        for c in range(copies):
            for k, text in enumerate(texts):
                rows.append(
                    {
                        "review_id": f"{need.need_id}-{c}-{k}",
                        "text": text,
                        "need_id": need.need_id,
                        "sentiment": sentiment,
                        "category": category,
                        "age": ages[(c + k) % len(ages)],
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def reviews(needs: pd.DataFrame) -> pd.DataFrame:
    return make_reviews(needs)


@pytest.fixture
def need_texts() -> dict:
    """The handmade needs: label → (share, sentiment, neg_share, texts)."""
    return NEED_TEXTS
