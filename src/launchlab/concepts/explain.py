"""Why a concept scores what it scores: the needs that drive it, the facts behind them and the
closest customer quote, written as one paragraph from the numbers (no text generation)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab.concepts.config import ConceptsConfig
from launchlab.concepts.scorer import ConceptScorer, Match
from launchlab.concepts.text import ConceptTexts
from launchlab.jsonable import to_jsonable
from launchlab.schemas import CATEGORY, NAME


def explain_concepts(
    usable: pd.DataFrame, texts: ConceptTexts, match: Match, scorer: ConceptScorer, needs: pd.DataFrame,
    score: np.ndarray, lo: np.ndarray, hi: np.ndarray, rank: np.ndarray, no_reviews: np.ndarray,
    history_metrics: dict[str, float], config: ConceptsConfig,
) -> tuple[list[str], list[list[dict]], list[list[int]]]:
    """Each concept's explanation paragraph, the facts of its top needs (``top_need_facts``) and
    the indices of those needs."""
    quote_rows = quote_index(texts.quotes)
    M, n = match.M, len(usable)
    top_idx = [top_needs(M[i], scorer, config) for i in range(n)]
    explanations = [
        explain(
            name=str(usable[NAME].iloc[i]),
            score=score[i], lo=lo[i], hi=hi[i], rank=int(rank[i]), n=n,
            comps=match.components[i], relevance=float(M[i].sum()), needs_idx=top_idx[i],
            risk_terms=sorted({t for found in texts.mentions[i] for t in found}),
            scorer=scorer, needs=needs,
            quote=best_quote(match.concept_vecs[i], top_idx[i], texts.quotes, quote_rows, texts.quote_vecs),
        )  # fmt: skip
        for i in range(n)
    ]
    if scorer.head_ is not None:
        n_past = int(history_metrics.get("history_n", 0))
        for i in range(n):
            if scorer.head_.task == "classification":
                learned = f"its chance of success is {score[i]:.0f}%"
            else:
                learned = f"its predicted outcome ranks at the {score[i]:.0f}th percentile"
            explanations[i] += (
                f" Learned from {n_past} past launches, {learned}; the weighted score alone is {match.transparent[i]:.0f}."
            )
    facts = [need_facts(match.concept_vecs[i], M[i], top_idx[i], scorer, needs, texts.quotes, quote_rows, texts.quote_vecs)
             for i in range(n)]
    for i in np.flatnonzero(no_reviews):
        explanations[i] += (
            f" No review is about its category ({usable[CATEGORY].iloc[i]}), so there is no evidence for it:"
            " treat the score as unknown."
        )
    return explanations, facts, top_idx


def top_needs(m: np.ndarray, scorer: ConceptScorer, config: ConceptsConfig) -> list[int]:
    """Needs that drive the concept's score most (match times the need's weight in the score)."""
    w = scorer.effective_weights()
    share = scorer.share_ / max(scorer.share_.max(), 1e-12)
    pain = scorer.pain_ / max(scorer.pain_.max(), 1e-12)
    contribution = m * (w["need_fit"] * share + w["pain_relief"] * pain + 1e-9)
    order = np.argsort(-contribution, kind="stable")
    return [int(j) for j in order[: config.top_k_needs] if m[j] >= config.min_match]


def quote_index(quotes: list[list[str]]) -> list[list[int]]:
    index, k = [], 0
    for qs in quotes:
        idx = []
        for q in qs:
            if q:
                idx.append(k)
                k += 1
        index.append(idx)
    return index


def best_quote(
    concept_vec: np.ndarray, need_idx: list[int], quotes: list[list[str]], index: list[list[int]], vecs: np.ndarray
) -> str | None:
    """The quote of the concept's top needs closest to the concept."""
    for j in need_idx:
        rows = index[j]
        if rows:
            sims = vecs[rows] @ concept_vec
            text = [q for q in quotes[j] if q][int(np.argmax(sims))]
            return text
    return None


def need_facts(
    concept_vec: np.ndarray,
    m: np.ndarray,
    need_idx: list[int],
    scorer: ConceptScorer,
    needs: pd.DataFrame,
    quotes: list[list[str]],
    index: list[list[int]],
    vecs: np.ndarray,
    n_quotes: int = 2,
) -> list[dict]:
    """Per top need: label, match, share, sentiment, negativity, trend and the quotes closest to the concept."""
    out = []
    for j in need_idx:
        row = needs.iloc[j]
        rows = index[j]
        texts = [q for q in quotes[j] if q]
        order = np.argsort(-(vecs[rows] @ concept_vec), kind="stable")[:n_quotes] if rows else []
        growth = scorer.growth_[j]
        out.append(
            {
                "need_id": to_jsonable(row["need_id"], digits=4),
                "label": scorer.labels_[j],
                "match": round(float(m[j]), 3),
                "share": round(float(row["share"]), 4),
                "sentiment_mean": to_jsonable(row.get("sentiment_mean"), digits=4),
                "neg_share": to_jsonable(row.get("neg_share"), digits=4),
                "trend_class": scorer.trend_class_[j],
                "growth": round(float(growth), 4) if np.isfinite(growth) else None,
                "quotes": [texts[k] for k in order],
            }
        )
    return out


def explain(
    *,
    name: str,
    score: float,
    lo: float,
    hi: float,
    rank: int,
    n: int,
    comps: np.ndarray,
    relevance: float,
    needs_idx: list[int],
    scorer: ConceptScorer,
    needs: pd.DataFrame,
    quote: str | None,
    risk_terms: list[str],
) -> str:
    """One paragraph from the facts behind the score (no text generation)."""
    fit, relief, momentum, white, risk = comps
    head = f"{name} scores {score:.0f}/100 (band {lo:.0f}–{hi:.0f}), rank {rank} of {n}."
    if not needs_idx:
        return (
            f"{head} It matches none of the {len(needs)} needs found in the reviews "
            f"(relevance {relevance:.2f}), so there is no customer evidence for it in this corpus."
        )
    parts = []
    for j in needs_idx:
        row = needs.iloc[j]
        facts = [f"{float(row['share']):.0%} of reviews"]
        if "sentiment_mean" in needs and pd.notna(row.get("sentiment_mean")):
            facts.append(f"mean sentiment {float(row['sentiment_mean']):+.2f}")
        if "neg_share" in needs and pd.notna(row.get("neg_share")):
            facts.append(f"{float(row['neg_share']):.0%} negative")
        if scorer.trend_class_[j]:
            growth = scorer.growth_[j]
            trend = f"trend {scorer.trend_class_[j]}"
            facts.append(trend + (f" ({growth:+.0%})" if np.isfinite(growth) else ""))
        parts.append(f"“{scorer.labels_[j]}” ({', '.join(facts)})")
    matched = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    comp = f"Need fit {fit:.0f}, pain relief {relief:.0f}, white space {white:.0f}, " + (
        f"momentum {momentum:.0f}." if np.isfinite(momentum) else "momentum not scored (no need trends)."
    )
    text = f"{head} It speaks mainly to {matched}. {comp}"
    if risk_terms:
        words = ", ".join(f"“{t}”" for t in risk_terms)
        text += f" Risk {risk:.0f}: its text says {words}, which customers complain about."
    if relevance < 0.2:
        text += f" Its match to the reviews is weak (relevance {relevance:.2f}), so the score rests on little evidence."
    if quote:
        text += f" A customer wrote: “{quote}”"
    return text
