"""Why a concept scores what it scores: the needs that drive it, the facts behind them and the
closest customer quote, written as one paragraph from the numbers (no text generation)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab.concepts.config import ConceptsConfig
from launchlab.concepts.scorer import MIN_RELEVANCE, ConceptScorer, Match, need_series_id
from launchlab.concepts.text import ConceptTexts
from launchlab.jsonable import to_jsonable
from launchlab.schemas import CATEGORY, NAME


def explain_concepts(
    usable: pd.DataFrame, texts: ConceptTexts, match: Match, scorer: ConceptScorer, needs: pd.DataFrame,
    score: np.ndarray, lo: np.ndarray, hi: np.ndarray, rank: np.ndarray, no_reviews: np.ndarray,
    history_metrics: dict[str, float], config: ConceptsConfig, period: str = "period",
) -> tuple[list[str], list[list[dict]], list[list[int]]]:
    """Each concept's explanation paragraph, the facts of its top needs (``top_need_facts``) and
    the indices of those needs. ``period`` names one period of the need series ("month")."""
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
            answered=M[i] - match.R[i], period=period,
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
    facts = [need_facts(match.concept_vecs[i], M[i], top_idx[i], scorer, needs, texts.quotes, quote_rows, texts.quote_vecs,
                        answered=M[i] - match.R[i]) for i in range(n)]
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
    answered: np.ndarray | None = None,
) -> list[dict]:
    """Per top need: label, match, share, sentiment, negativity, trend figures, the momentum points
    it gives the concept and the quotes closest to the concept."""
    answered = m if answered is None else answered
    out = []
    for j in need_idx:
        row = needs.iloc[j]
        rows = index[j]
        texts = [q for q in quotes[j] if q]
        order = np.argsort(-(vecs[rows] @ concept_vec), kind="stable")[:n_quotes] if rows else []
        trend = scorer.trend_.iloc[j]
        out.append(
            {
                "need_id": to_jsonable(row["need_id"], digits=4),
                "label": scorer.labels_[j],
                "parent_need_id": _parent_id(needs, j),
                "match": round(float(m[j]), 3),
                "share": round(float(row["share"]), 4),
                "sentiment_mean": to_jsonable(row.get("sentiment_mean"), digits=4),
                "neg_share": to_jsonable(row.get("neg_share"), digits=4),
                "trend_class": scorer.trend_class_[j],
                **{k: to_jsonable(trend[k], digits=4) for k in ("growth", "p_value", "prior_level", "last_value", "window")},
                "growth_evidence": round(float(scorer.evidence_[j]), 4),
                "momentum_points": round(100.0 * float(answered[j] * scorer.evidence_[j]), 2),
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
    answered: np.ndarray | None = None,
    period: str = "period",
) -> str:
    """One paragraph from the facts behind the score (no text generation). ``answered`` is the
    concept's match minus the part its defect-naming words carry (what momentum reads)."""
    fit, relief, momentum, white, risk = comps
    head = f"{name} scores {score:.0f}/100 (band {lo:.0f}–{hi:.0f}), rank {rank} of {n}."
    if not needs_idx:
        text = (
            f"{head} It matches none of the {len(needs)} needs found in the reviews "
            f"(relevance {relevance:.2f}), so there is no customer evidence for it in this corpus."
        )
        if scorer.has_trends_:
            answered = np.zeros(len(needs)) if answered is None else answered
            text += " " + momentum_sentence(momentum, relevance, answered, needs_idx, scorer, needs, period)
        return text
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
    if np.isfinite(momentum):
        momentum_words = f"momentum {momentum:.0f}."
    else:
        momentum_words = "momentum not scored." if scorer.has_trends_ else "momentum not scored (no need trends)."
    comp = f"Need fit {fit:.0f}, pain relief {relief:.0f}, white space {white:.0f}, {momentum_words}"
    text = f"{head} It speaks mainly to {matched}. {comp}"
    if scorer.has_trends_:
        answered = np.zeros(len(needs)) if answered is None else answered
        text += " " + momentum_sentence(momentum, relevance, answered, needs_idx, scorer, needs, period)
    if risk_terms:
        words = ", ".join(f"“{t}”" for t in risk_terms)
        text += f" Risk {risk:.0f}: its text says {words}, which customers complain about."
    if relevance < 0.2:
        text += f" Its match to the reviews is weak (relevance {relevance:.2f}), so the score rests on little evidence."
    if quote:
        text += f" A customer wrote: “{quote}”"
    return text


def momentum_sentence(
    momentum: float, relevance: float, answered: np.ndarray, needs_idx: list[int], scorer: ConceptScorer,
    needs: pd.DataFrame, period: str, max_needs: int = 2,
) -> str:
    """Why momentum is what it is: the growing needs that give it, with their trend figures, or
    why there is none (needs that do not grow, needs without a series, no need matched)."""
    if not np.isfinite(momentum) or relevance < MIN_RELEVANCE:
        return (
            f"Momentum not scored: it barely matches any need (relevance {relevance:.2f}), "
            "so no need trend speaks for it."
        )
    points = 100.0 * answered * scorer.evidence_
    drivers = [int(j) for j in np.argsort(-points, kind="stable")[:max_needs] if points[j] >= 1.0]
    if drivers:
        parts = [f"{_need_name(j, scorer, needs)}: {trend_figures(j, scorer, period)}" for j in drivers]
        return f"Momentum {momentum:.0f} comes from {' and '.join(parts)}."
    with_trend = [j for j in needs_idx if scorer.trend_["has_trend"].iloc[j]][:max_needs]
    if not needs_idx:
        return f"Momentum {momentum:.0f}: its match is spread thinly over many needs, none of them growing."
    if not with_trend:
        return f"Momentum {momentum:.0f}: the needs it answers have no trend series, so nothing shows them growing."
    parts = [f"{_need_name(j, scorer, needs)}: {trend_figures(j, scorer, period)}" for j in with_trend]
    return f"Momentum {momentum:.0f}: the needs it answers are not growing ({'; '.join(parts)})."


def trend_figures(j: int, scorer: ConceptScorer, period: str = "period") -> str:
    """A need's trend in words from its trends row, e.g. "0.2 → 3 mentions a month over 18 months,
    emerging (p = 0.017; forecast +5%)"."""
    row = scorer.trend_.iloc[j]
    prior, last, window = row["prior_level"], row["last_value"], row["window"]
    words = []
    if np.isfinite(last) and np.isfinite(window) and window >= 1:
        span = f"{int(window)} {period}{'' if int(window) == 1 else 's'}"
        if np.isfinite(prior):
            words.append(f"{_count(prior)} → {_count(last)} mentions a {period} over {span}")
        else:
            words.append(f"new within {span}, {_count(last)} mentions in the latest {period}")
    elif np.isfinite(last):
        words.append(f"{_count(last)} mentions in the latest {period}")
    words.append(row["class"] or "trend not classed")
    notes = []
    p_value = row["p_value"]
    # A trend call may rest on another test than the slope's (an onset from a low base): its
    # slope p-value is shown when it backs the call, and always for an uncalled need.
    if np.isfinite(p_value) and (p_value < 0.05 or row["class"] not in ("emerging", "rising", "declining")):
        notes.append("p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}" if p_value < 0.1 else f"p = {p_value:.2f}")
    if np.isfinite(row["growth"]):
        notes.append(f"forecast {row['growth']:+.0%}")
    return ", ".join(words) + (f" ({'; '.join(notes)})" if notes else "")


def _need_name(j: int, scorer: ConceptScorer, needs: pd.DataFrame) -> str:
    """“label”, and for a sub-need the need it grows inside."""
    parent = _parent_id(needs, j)
    if parent is None:
        return f"“{scorer.labels_[j]}”"
    ids = [need_series_id(v) for v in scorer.need_ids_]
    key = need_series_id(parent)
    inside = f" of “{scorer.labels_[ids.index(key)]}”" if key in ids else ""
    return f"“{scorer.labels_[j]}” (a sub-need{inside})"


def _parent_id(needs: pd.DataFrame, j: int) -> int | None:
    """The need a sub-need was found inside (``parent_need_id``), None for a need of the need model
    (no such column, or -1)."""
    if "parent_need_id" not in needs:
        return None
    value = pd.to_numeric(pd.Series([needs["parent_need_id"].iloc[j]]), errors="coerce").iloc[0]
    return None if pd.isna(value) or value < 0 else int(value)


def _count(value: float) -> str:
    """A count per period as people say it: 0, 0.25, 2.5, 40."""
    if value == 0 or abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}" if abs(value) < 1 else f"{value:.1f}".removesuffix(".0")
