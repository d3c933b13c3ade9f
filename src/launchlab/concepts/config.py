"""Typed configuration of the concept-scoring stage."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, field_validator

COMPONENTS = ("need_fit", "pain_relief", "momentum", "white_space", "risk")
"""Score components, each on a 0–100 scale, in the order they appear in ``scores``."""

PENALTIES = ("risk",)
"""Components that lower the overall score: ``weight * component`` points are taken off."""

BONUSES = ("momentum",)
"""Components that add ``weight * component`` points to the overall score; a component that could
not be scored (NaN: no evidence) adds nothing."""

DEFAULT_WEIGHTS = {"need_fit": 0.4, "pain_relief": 0.4, "white_space": 0.2, "momentum": 0.2, "risk": 0.5}
"""Default weights of the overall score.

``overall = sum(w_c * c) / sum(w_c)`` over need_fit, pain_relief and white_space, plus
``w_momentum * momentum`` when momentum could be scored, minus ``w_risk * risk``, clipped to
0–100. Need fit and pain relief weigh the same: a concept should serve a large need *and*
relieve a pain; white space weighs half as much, as it overlaps pain relief. Momentum is a bonus
(a concept that fully answers a strongly emerging need gains up to 20 points; one whose needs
do not grow, or that matches no need, gains nothing), small because trend signals on review
volumes are noisy, and one-sided because no evidence of growth must not earn points. Risk is a
penalty: with weight 0.5 a concept whose text fully repeats the worst complaint loses 50 points.
"""


class ConceptsConfig(BaseModel):
    """Parameters of :func:`launchlab.concepts.score_concepts`.

    The overall score is ``sum(w_c * component_c) / sum(w_c)`` over the components that could
    be scored; see :class:`launchlab.concepts.ConceptScorer` for how each component is built.
    """

    weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="Weight of each score component in the overall score: need_fit, "
        "pain_relief, white_space (weighted mean), momentum (points added per point of momentum) and risk "
        "(points lost per point of risk). Missing components get weight 0.",
    )
    top_k_needs: int = Field(3, ge=1, le=20, description="Matched needs listed per concept.")
    seed: int = Field(42, description="Seed of the bootstrap behind the uncertainty band.")
    n_bootstrap: int = Field(
        200, ge=0, le=10_000, description="Bootstrap resamples of the reviews behind the needs; 0 skips the band."
    )
    interval: float = Field(0.9, gt=0, lt=1, description="Coverage of the score_lo..score_hi band.")
    claim_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of a concept's match carried by its claims (split equally among them); "
        "the rest is carried by the whole concept text. Ignored for concepts without claims.",
    )
    relevance_z: float = Field(
        2.5,
        description="How many robust standard deviations above the unrelated-text null a "
        "similarity to a need must be for the match to count half.",
    )
    temperature: float = Field(
        0.05,
        gt=0,
        description="Softmax temperature that shares a text's match among needs by how "
        "specifically (beyond the theme all needs share) it speaks to each.",
    )
    growth_scale: float = Field(
        0.2,
        gt=0,
        description="Growth (relative change) of a need that counts as strong growth evidence for momentum: "
        "tanh(growth/scale).",
    )
    min_match: float = Field(
        0.05, ge=0, le=1, description="Smallest match (0–1) for a need to be listed in top_needs."
    )
    panel_size: int = Field(400, ge=1, le=100_000, description="Personas sampled for the simulated panel.")
    panel_segments: list[str] = Field(
        default_factory=lambda: ["age_band", "category"],
        description="Review columns that define panel segments; age_band is derived from an age column.",
    )
    panel_use_text: bool = Field(True, description="Embed the personas' review texts when the reviews carry them.")
    panel_min_segment: int = Field(20, ge=1, description="Personas a segment needs before its top-2-box is trusted.")
    panel_coefficients: dict[str, float] | None = Field(
        None, description="Overrides of the panel's utility coefficients (see launchlab.concepts.panel)."
    )
    history_outcome: str = Field(
        "outcome", description="Column of the history table holding each past launch's outcome."
    )
    history_task: Literal["auto", "classification", "regression"] = Field(
        "auto", description="Success/failure (classification) or a number such as sales (regression); auto decides from the values."
    )
    min_norms: int = Field(
        20, ge=1, description="Past concepts a norm needs to be trusted (Zappi asks for 20); fewer are flagged."
    )
    defect_terms: list[str] | None = Field(
        None,
        description="Regular expressions of words that name a defect (see launchlab.concepts.lexicon); "
        "None uses the bundled English list.",
    )
    null_texts: list[str] | None = Field(
        None,
        description="Texts unrelated to the product domain that calibrate similarities; "
        "None uses the bundled list of everyday products from many categories.",
    )

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"unknown score components {unknown}; use any of {list(COMPONENTS)}")
        if any(not math.isfinite(w) or w < 0 for w in value.values()):
            raise ValueError("weights must be finite and non-negative")
        if sum(w for c, w in value.items() if c not in PENALTIES + BONUSES) <= 0:
            raise ValueError("at least one weight of need_fit, pain_relief, white_space must be positive")
        return {c: float(value.get(c, 0.0)) for c in COMPONENTS}
