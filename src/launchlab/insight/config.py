"""Typed configuration of the insight stage."""

from __future__ import annotations

from pathlib import Path

import pydantic


class EmergingConfig(pydantic.BaseModel):
    """How the insight stage looks for emerging sub-needs: small groups of mentions inside a need
whose share grows over time.

    Runs when the reviews have dates spanning at least three times the shortest recent window.
    """

    model_config = pydantic.ConfigDict(extra="forbid")

    enabled: bool = pydantic.Field(True, description="Look for emerging sub-needs when the reviews have dates.")
    alpha: float = pydantic.Field(
        0.05, gt=0.0, lt=1.0,
        description="Chance of surfacing any sub-need in a corpus whose topics have no timing of their own (permutation test).",
    )
    n_permutations: int = pydantic.Field(199, ge=19, le=9999, description="Date permutations calibrating the scan.")
    region_sizes: list[int] = pydantic.Field(
        default_factory=lambda: [10, 20, 40], description="Mentions per candidate region (nearest neighbours of a mention)."
    )
    max_seeds: int = pydantic.Field(4000, ge=100, description="Most mentions per need seeding regions (a seeded sample beyond).")
    max_parent_share: float = pydantic.Field(
        0.5, gt=0.0, le=1.0, description="Largest share of its parent need a sub-need may hold (beyond, the need itself is rising)."
    )
    min_reviews: int = pydantic.Field(3, ge=1, description="Fewest distinct reviews voicing a sub-need in its recent window.")
    min_growth: float = pydantic.Field(
        2.0, ge=1.0, description="Mentions per period in the recent window, at least this many times the rate before it."
    )
    max_per_need: int = pydantic.Field(3, ge=1, description="Most sub-needs surfaced inside one need.")
    max_subneeds: int = pydantic.Field(10, ge=1, description="Most sub-needs surfaced in a corpus.")
    n_keywords: int = pydantic.Field(10, ge=1, le=50, description="Keyphrases kept per sub-need.")
    seed: int = 42

    @pydantic.field_validator("region_sizes")
    @classmethod
    def _sizes(cls, sizes: list[int]) -> list[int]:
        if not sizes or any(m < 3 for m in sizes):
            raise ValueError("region_sizes must be a non-empty list of sizes of at least 3 mentions")
        return sorted(set(sizes))


class InsightConfig(pydantic.BaseModel):
    """Parameters of :func:`launchlab.insight.discover_needs`.

    Every field has a default that works on a few hundred to a few hundred thousand reviews.
    """

    model_config = pydantic.ConfigDict(extra="forbid")

    seed: int = pydantic.Field(42, description="Random seed: same input and seed give identical output.")
    min_need_size: int | None = pydantic.Field(
        None, ge=2, description="Smallest need, in reviews; None chooses it from the corpus size."
    )
    max_needs: int = pydantic.Field(30, ge=2, le=200, description="Most needs to report.")
    min_needs: int = pydantic.Field(
        4, ge=2, description="Fewest needs to consider when the corpus is large enough to hold them."
    )
    level: str = pydantic.Field(
        "review",
        pattern="^(review|mention)$",
        description=(
            "Unit of need discovery: 'mention' splits reviews into sentences/clauses (a review can "
            "voice several needs), 'review' clusters whole reviews."
        ),
    )
    n_quotes: int = pydantic.Field(3, ge=0, le=20, description="Representative quotes per need.")
    n_keywords: int = pydantic.Field(10, ge=1, le=50, description="Keyphrases kept per need.")
    batch_size: int = pydantic.Field(64, ge=1, description="Texts per embedding batch.")
    silhouette_sample: int = pydantic.Field(
        3000,
        ge=100,
        description=(
            "Units sampled (seeded) on which every candidate number of needs is clustered and scored by "
            "silhouette; the chosen clustering is then refitted on a larger sample and settled on all units."
        ),
    )
    neg_threshold: float = pydantic.Field(
        -0.2, ge=-1.0, le=0.0, description="A review is negative when its sentiment is below this."
    )
    sentiment: str = pydantic.Field(
        "auto",
        pattern="^(auto|stars|default|lexicon)$",
        description=(
            "Sentiment source: 'stars' trains a head on the corpus' star ratings, 'default' uses the "
            "shipped model, 'lexicon' a word list; 'auto' picks stars when enough ratings exist, else "
            "the shipped model when it matches the embedder, else the lexicon."
        ),
    )
    min_star_labels: int = pydantic.Field(
        20, ge=4, description="Fewest rated reviews per polarity (1-2 and 4-5 stars) to train on stars."
    )
    balance_stars: bool = pydantic.Field(
        True,
        description=(
            "Weight 1-2 and 4-5 star reviews equally when learning sentiment from stars, so a corpus' "
            "positivity skew does not drown out pain points (False keeps p calibrated to the corpus). The "
            "held-out calibration under the chosen mix is logged (sentiment_calibration_ece, sentiment_brier)."
        ),
    )
    cv_folds: int = pydantic.Field(5, ge=2, le=20, description="Folds for the sentiment held-out accuracy.")
    default_sentiment_path: Path | None = pydantic.Field(
        None, description="Shipped sentiment model file; None uses models/sentiment/ of the project."
    )
    fit_cap: int = pydantic.Field(
        50_000,
        ge=1,
        description=(
            "Most opinion units (mentions or reviews) the need model and sentiment head are fitted on. A larger "
            "corpus is streamed: the models are fitted on a seeded sample of whole reviews holding at most this "
            "many units, then every unit is embedded, assigned and scored in batches of stream_rows, so memory "
            "stays bounded."
        ),
    )
    stream_rows: int = pydantic.Field(
        20_000, ge=1, description="Units embedded, assigned and scored per batch when the corpus is streamed."
    )
    cache_dir: Path | None = pydantic.Field(
        None, description="Embedding cache directory keyed by text hash and model id; None disables it."
    )
    emerging: EmergingConfig = pydantic.Field(
        default_factory=EmergingConfig, description="Emerging sub-needs: small new needs growing inside big ones."
    )
