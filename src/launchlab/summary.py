"""A cycle's answer in a few lines: the decision and why, the needs that matter, what is rising,
the top concepts, and (after launch) whom to target and how many to make.

Read from the stage folders a cycle wrote (``_stage.json`` records and tables), never recomputed.
The same summary opens the HTML report, is the Prefect flow run's markdown artifact and the MLflow
parent run's description, and its lines go to the Prefect log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from launchlab import stages
from launchlab.concepts.scorer import need_series_id
from launchlab.lists import as_list

RISING_CLASSES = ("emerging", "rising")
DECISION_CODES = {"stop": 0, "iterate": 1, "scale": 2}
"""The numeric decision logged for sorting cycles in the MLflow run list (pre-launch: none)."""

INCUBATION_ANSWERS = {
    "whom_to_target": "Whom to target",
    "expected_gain": "Expected gain",
    "how_many_to_make": "How many to make",
}
"""Titles of the incubation stage's one-sentence answers (its summary's ``headlines``), in order."""


@dataclass
class CycleSummary:
    """What a cycle found, as the few numbers and sentences a reader needs first."""

    name: str
    decision: str = "none"
    reasons: list[str] = field(default_factory=list)
    needs: list[dict[str, Any]] = field(default_factory=list)
    rising: list[dict[str, Any]] = field(default_factory=list)
    concepts: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    n_needs: int = 0
    n_series: int = 0

    @property
    def decision_code(self) -> int | None:
        return DECISION_CODES.get(self.decision)

    @property
    def verdict(self) -> str:
        """The decision as shown: SCALE / ITERATE / STOP, or the pre-launch sentence."""
        return self.decision.upper() if self.decision in DECISION_CODES else self.decision

    @property
    def headline(self) -> str:
        """One sentence: the decision and its first reason."""
        return f"{self.verdict} — {self.reasons[0]}" if self.reasons else self.verdict


def read_summary(config, *, top: int = 5) -> CycleSummary:
    """The summary of the cycle of ``config`` from its stage folders."""
    paths = stages.cycle_paths(config)
    records = {name: stages.read_stage_record(paths[name]) or {} for name in stages.STAGE_NAMES}
    decision = stages.cycle_decision(records)
    summary = CycleSummary(name=config.name, decision=str(decision.get("decision", "none")),
                           reasons=[str(r) for r in decision.get("reasons", [])])
    needs = stages.read_stage_table(paths[stages.INSIGHT], "needs", required=False)
    if needs is not None and len(needs):
        summary.n_needs = len(needs)
        summary.needs = [_need(row) for _, row in needs.sort_values("share", ascending=False).head(top).iterrows()]
    trends = stages.read_stage_table(paths[stages.TRENDS], "trends", required=False)
    if trends is not None and len(trends):
        summary.n_series = len(trends)
        rising = trends[trends["class"].isin(RISING_CLASSES)].copy()
        rising["_order"] = rising["class"].map({c: i for i, c in enumerate(RISING_CLASSES)})
        rising = rising.sort_values(["_order", "change" if "change" in rising else "growth"], ascending=[True, False])
        labels = need_labels(needs)
        summary.rising = [trend_evidence(row, labels.get(str(row["unique_id"]))) for _, row in rising.head(top).iterrows()]
    scores = stages.read_stage_table(paths[stages.CONCEPTS], "scores", required=False)
    if scores is not None and len(scores):
        summary.concepts = [_concept(row) for _, row in scores.sort_values("rank").head(top).iterrows()]
    headlines = (records.get(stages.INCUBATION, {}).get("summary") or {}).get("headlines") or {}
    summary.answers = {title: str(headlines[key]) for key, title in INCUBATION_ANSWERS.items() if headlines.get(key)}
    return summary


def _need(row: pd.Series) -> dict[str, Any]:
    return {"label": str(row["label"]), "share": float(row["share"]), "sentiment": float(row["sentiment_mean"]),
            "negative": _float(row.get("neg_share")), "quote": next(iter(as_list(row.get("quotes"))), None)}


def _concept(row: pd.Series) -> dict[str, Any]:
    return {"rank": int(row["rank"]), "name": str(row["name"]), "score": float(row["score"]),
            "low": _float(row.get("score_lo")), "high": _float(row.get("score_hi")),
            "needs": [str(n) for n in as_list(row.get("top_needs"))[:3]], "why": str(row.get("explanation") or "")}


def need_labels(needs: pd.DataFrame | None) -> dict[str, str]:
    """The label of each need by the id of its volume series in the trends table (``need-3``)."""
    if needs is None or not {"need_id", "label"} <= set(needs.columns):
        return {}
    return {need_series_id(i): str(label) for i, label in zip(needs["need_id"], needs["label"])}


def trend_evidence(row: pd.Series, label: str | None = None) -> dict[str, Any]:
    """A series' class with the numbers the class rests on: the change of its level over the trend
    window and the significance of that trend (the forecast's growth is not what classes it).
    ``name`` is what a reader sees: the need's label with its series id (``“petite / length” (need-5)``)."""
    series = str(row["unique_id"])
    return {"series": series, "name": f"“{label}” ({series})" if label else series, "class": str(row["class"]),
            "change": _float(row.get("change")), "p_value": _float(row.get("p_value")), "window": _int(row.get("window"))}


def describe_trend(item: dict[str, Any]) -> str:
    """``rising: +38% over the last 18 periods (p = 0.004)``; a series without a trend call reads
    ``stable: no clear trend (p = 0.39)`` so no number contradicts its class. Not "no significant
    trend": a slope can be significant and still not called, when its change is below the bar or
    the forecast expects it to reverse (``seasonal: no clear trend (p = 0.013)``)."""
    cls, change, p = item["class"], item.get("change"), item.get("p_value")
    significance = f"p = {p:.2g}" if p is not None else "significance unknown"
    if cls in ("emerging", "rising", "declining") and change is not None:
        window = f" over the last {item['window']} periods" if item.get("window") else ""
        return f"{cls}: {change:+.0%}{window} ({significance})"
    return f"{cls}: no clear trend ({significance})"


def markdown(summary: CycleSummary, links: dict[str, str] | None = None) -> str:
    """The summary as Markdown (Prefect artifact, MLflow run description)."""
    lines = [f"# {summary.name}", "", f"**Decision: {summary.verdict}**", ""]
    if summary.reasons:
        lines += ["Why:", *[f"- {r}" for r in summary.reasons[:5]], ""]
    for title, answer in summary.answers.items():
        lines += [f"**{title}:** {answer}", ""]
    if summary.needs:
        lines += [f"## Needs that matter (top {len(summary.needs)} of {summary.n_needs} by share of reviews)", "",
                  "| need | share | sentiment | negative |", "|---|---:|---:|---:|"]
        lines += [f"| {_cell(n['label'])} | {n['share']:.1%} | {n['sentiment']:+.2f} | {_pct(n['negative'])} |" for n in summary.needs]
        lines.append("")
    lines += ["## What is rising", ""]
    if summary.rising:
        lines += [f"- {_cell(r['name'])} — {describe_trend(r)}" for r in summary.rising]
    else:
        lines.append(f"No series of {summary.n_series} shows a significant rise.")
    lines.append("")
    if summary.concepts:
        lines += [f"## Top {len(summary.concepts)} concepts", "", "| # | concept | score | band | answers |", "|---:|---|---:|---|---|"]
        lines += [f"| {c['rank']} | {_cell(c['name'])} | {c['score']:.0f} | {_band(c)} | {_cell(', '.join(c['needs']))} |"
                  for c in summary.concepts]
        lines.append("")
    if links:
        lines += ["## Links", "", *[f"- [{title}]({url})" if "://" in url else f"- {title}: `{url}`" for title, url in links.items()], ""]
    return "\n".join(lines)


def log_lines(summary: CycleSummary) -> list[str]:
    """The summary as a few log lines."""
    lines = [f"decision: {summary.headline}"]
    if summary.needs:
        lines.append("top needs: " + "; ".join(f"{n['label']} ({n['share']:.0%})" for n in summary.needs))
    lines.append("rising: " + ("; ".join(f"{r['name']} ({describe_trend(r)})" for r in summary.rising) or "none"))
    if summary.concepts:
        lines.append("concepts: " + "; ".join(f"{c['rank']}. {c['name']} ({c['score']:.0f})" for c in summary.concepts))
    lines += [f"{title.lower()}: {answer}" for title, answer in summary.answers.items()]
    return lines


def tables(summary: CycleSummary) -> dict[str, list[dict[str, Any]]]:
    """The summary's tables, by artifact key (Prefect table artifacts)."""
    return {
        "top-needs": [{"need": n["label"], "share": f"{n['share']:.1%}", "sentiment": f"{n['sentiment']:+.2f}",
                       "negative": _pct(n["negative"])} for n in summary.needs],
        "rising-needs": [{"series": r["name"], "class": r["class"], "evidence": describe_trend(r)} for r in summary.rising],
        "concept-ranking": [{"rank": c["rank"], "concept": c["name"], "score": round(c["score"]), "band": _band(c),
                             "answers": ", ".join(c["needs"])} for c in summary.concepts],
    }


def _band(concept: dict[str, Any]) -> str:
    low, high = concept.get("low"), concept.get("high")
    return f"{low:.0f}–{high:.0f}" if low is not None and high is not None else "—"


def _cell(text: Any) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def summary_path(config) -> Path:
    """Where the cycle's summary Markdown is written beside its report."""
    return Path(config.out_dir) / "summary.md"
