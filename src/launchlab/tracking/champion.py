"""The champion policy: whether a new model version takes the ``champion`` alias, and why.

A candidate is promoted only when its deciding metric beats the champion's beyond noise (by more
than :data:`Z` standard errors of the difference) and the two were measured like with like: on
the same evaluation data, or the candidate on at least as much data as the champion. Every
verdict carries a sentence saying why, which becomes the model version's description. Pure
functions: nothing here talks to MLflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from launchlab.stages import ChampionMetric

Z = 2.0
"""How many standard errors of the difference a gain must exceed (about a 95% two-sided test)."""


@dataclass(frozen=True)
class Evidence:
    """A model version's deciding metric: its value, standard error, evaluation size and the key of
    the data it was evaluated on (None where unknown)."""

    value: float | None = None
    se: float | None = None
    n: float | None = None
    data: str | None = None

    @classmethod
    def from_metrics(cls, deciding: ChampionMetric, metrics: dict[str, float], data: str | None = None) -> Evidence:
        def finite(key: str | None) -> float | None:
            value = metrics.get(key) if key else None
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return None
            return number if math.isfinite(number) else None

        return cls(finite(deciding.metric), finite(deciding.se), finite(deciding.n), data)

    def describe(self, metric: str) -> str:
        if self.value is None:
            return f"{metric} not logged"
        text = f"{metric} {self.value:.4g}"
        if self.se is not None:
            text += f" ± {self.se:.2g}"
        if self.n is not None:
            text += f" (n = {self.n:,.0f})"
        return text


@dataclass(frozen=True)
class Verdict:
    """Whether to promote, and the sentence saying why."""

    promote: bool
    reason: str


def judge(
    deciding: ChampionMetric | None,
    candidate: Evidence,
    champion: Evidence | None,
    champion_version: str | None = None,
    *,
    allowed: bool = True,
) -> Verdict:
    """The champion policy for one new version (see the module docstring).

    ``champion`` is None when the model has no champion yet: the first version becomes champion.
    ``allowed=False`` (a run that opted out, such as a trial with overrides) never promotes; the
    reason still says what the evidence showed.
    """
    verdict = _on_evidence(deciding, candidate, champion, champion_version)
    if allowed or not verdict.promote:
        return verdict
    return Verdict(False, "Not promoted: promotion is off for this run (a trial with changed settings, or promotion switched off); on the evidence it would have been "
                          f"({verdict.reason[0].lower()}{verdict.reason[1:]})")


def _on_evidence(deciding: ChampionMetric | None, candidate: Evidence, champion: Evidence | None, version: str | None) -> Verdict:
    held = f"the champion stays version {version}" if version else "the champion stays"
    if deciding is None:
        if champion is None:
            return Verdict(True, "Promoted: first version of this model (it has no deciding metric).")
        return Verdict(False, f"Not promoted: this model has no deciding metric, so only its first version is champion; {held}.")
    metric, better = deciding.metric, "higher" if deciding.higher_is_better else "lower"
    absent = f" ({deciding.absent})" if deciding.absent else ""
    if champion is None:
        how = "" if candidate.value is not None else f"; its {metric} was not logged{absent}"
        return Verdict(True, f"Promoted: first version of this model{how}.")
    if candidate.value is None:
        return Verdict(False, f"Not promoted: this run did not log {metric}{absent}; {held}.")
    if champion.value is None:
        return Verdict(True, f"Promoted: the champion (version {version}) has no {metric} to compare with; this version has "
                             f"{candidate.describe(metric)}.")
    same_data = candidate.data is not None and candidate.data == champion.data
    if not same_data:
        if candidate.n is None or champion.n is None:
            return Verdict(False, f"Not promoted: evaluated on other data than the champion and the evaluation sizes are "
                                  f"unknown, so the {metric} values do not compare; {held}.")
        if candidate.n < champion.n:
            return Verdict(False, f"Not promoted: evaluated on less data than the champion ({candidate.n:,.0f} vs "
                                  f"{champion.n:,.0f}), so {metric} {candidate.value:.4g} vs {champion.value:.4g} does not "
                                  f"compare like with like; {held}.")
    gain = (candidate.value - champion.value) * (1 if deciding.higher_is_better else -1)
    versus = f"{metric} {candidate.value:.4g} vs {champion.value:.4g} for version {version} ({better} is better)"
    if gain <= 0:
        return Verdict(False, f"Not promoted: no better than the champion: {versus}; {held}.")
    if candidate.se is None or champion.se is None:
        return Verdict(False, f"Not promoted: {versus}, but without a standard error of {metric} a gain cannot be told "
                              f"from noise; {held}.")
    noise = Z * math.hypot(candidate.se, champion.se)
    data = "on the same evaluation data" if same_data else f"on at least as much data ({candidate.n:,.0f} vs {champion.n:,.0f})"
    if gain <= noise:
        return Verdict(False, f"Not promoted: the gain is within noise: {versus}; the gain {gain:.3g} is under "
                              f"{Z:g} standard errors of the difference ({noise:.3g}); {held}.")
    return Verdict(True, f"Promoted: beats the champion beyond noise: {versus}; the gain {gain:.3g} exceeds {Z:g} standard "
                         f"errors of the difference ({noise:.3g}), {data}.")
