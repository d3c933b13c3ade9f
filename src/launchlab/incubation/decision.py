"""Scale / iterate / stop from an A/B readout and, optionally, an adoption-curve fit."""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from launchlab.results import StageResult


def _fmt_abs(x: float | None, binary: bool) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x * 100:+.2f} pp" if binary else f"{x:+.4g}"


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "p = n/a"
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


def _fmt_rel(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.1%}"


def _units_needed(e: dict[str, Any], c: dict[str, Any], alpha: float) -> int | None:
    """Units per arm to detect the observed lift with 80% power (two-sided test at alpha)."""
    d = e.get("lift_abs")
    sd_t, sd_c = e.get("std"), c.get("std")
    if not d or sd_t is None or sd_c is None or not math.isfinite(d) or d == 0:
        return None
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(0.8)
    return int(math.ceil(z**2 * (sd_t**2 + sd_c**2) / d**2))


def ab_verdict(readout: dict[str, Any]) -> tuple[str, list[str], str | None]:
    """Scale, iterate or stop from an A/B readout: the decision, its reasons and the best variant.

    The one place the verdict is computed; :func:`~launchlab.incubation.read_out_ab` records it
    in the readout, and :func:`decide` reads it from there.
    """
    metric = readout["metric"]
    control = readout["control"]
    binary = readout.get("metric_type") == "binary"
    alpha = readout.get("alpha", 0.05)
    sign = 1.0 if readout.get("higher_is_better", True) else -1.0
    min_rel = readout.get("min_lift_rel", 0.0) or 0.0
    variants = readout["variants"]
    treatments = {v: e for v, e in variants.items() if v != control}
    level = f"{1 - alpha:.0%}"
    p_label = "Holm-adjusted " if readout.get("correction") == "holm" else ""

    if readout.get("srm_alarm"):
        return "iterate", [
            "sample ratio mismatch: arm sizes "
            + ", ".join(f"{v} {e['n']}" for v, e in variants.items())
            + f" deviate from the planned split (p = {readout['srm_p_value']:.2g} < "
            f"{readout.get('srm_alpha', 0.001)}); "
            "the assignment is broken, so no lift can be trusted — fix randomisation or exposure logging and rerun"
        ], None

    sequential = bool(readout.get("sequential"))
    cuped = readout.get("cuped")

    def describe(v: str, e: dict[str, Any]) -> str:
        if sequential and e.get("seq_ci_low") is not None:
            lo, hi, p = e["seq_ci_low"], e["seq_ci_high"], e.get("seq_p_value_adj", e.get("seq_p_value"))
            ci_label, p_text = f"always-valid {level} CI", f"always-valid {p_label}{_fmt_p(p)}"
        else:
            lo, hi = e["ci_low"], e["ci_high"]
            ci_label, p_text = f"{level} CI", f"{p_label}{_fmt_p(e.get('p_value_adj', e['p_value']))}"
        text = (
            f"{v} vs {control} on {metric}: {_fmt_rel(e['lift_rel'])} relative "
            f"({_fmt_abs(e['lift_abs'], binary)}, {ci_label} {_fmt_abs(lo, binary)} to "
            f"{_fmt_abs(hi, binary)}), {p_text}"
        )
        prob = e.get("prob_beat_control")
        if prob is not None and math.isfinite(prob):
            text += f"; P(beats {control}) = {prob:.1%}"
        if cuped:
            text += f"; CUPED on {cuped['covariate']} cut the variance by {cuped['variance_reduction']:.1%}"
        return text

    def upper_rel(e: dict[str, Any]) -> float | None:
        """Upper bound of the lift in the good direction, relative."""
        return e["lift_rel_ci_high"] if sign > 0 else (
            -e["lift_rel_ci_low"] if e["lift_rel_ci_low"] is not None else None)

    def confidently_bad(e: dict[str, Any]) -> bool:
        if e["significant"] and sign * e["lift_abs"] < 0:
            return True
        bound = upper_rel(e)
        return min_rel > 0 and bound is not None and bound < min_rel

    if treatments and all(confidently_bad(e) for e in treatments.values()):
        return "stop", [describe(v, e) for v, e in treatments.items()] + [
            "no variant beats the control"
            + (f" by the minimum worthwhile lift of {min_rel:.1%}" if min_rel else "")
        ], None

    winners = {v: e for v, e in treatments.items() if e["significant"] and sign * e["lift_abs"] > 0}
    guardrail_block = readout.get("guardrails_blocking") or {}
    if winners:
        best = max(winners, key=lambda v: sign * winners[v]["lift_abs"])
        blocked = guardrail_block.get(best)
        if blocked:
            return "iterate", [describe(best, winners[best]), *blocked], best
        reasons = [describe(best, winners[best])]
        if min_rel and sign * (winners[best]["lift_rel"] or 0) < min_rel:
            return "iterate", [
                *reasons,
                f"the lift is real but may be below the minimum worthwhile lift of {min_rel:.1%}",
            ], best
        return "scale", reasons, best

    best = max(treatments, key=lambda v: sign * (treatments[v]["lift_abs"] or 0.0))
    reasons = [describe(best, treatments[best]), f"no variant differs significantly from {control} at α = {alpha:g}"]
    if all(e["p_value"] is None or not math.isfinite(e["p_value"]) for e in treatments.values()):
        return "iterate", [*reasons, f"{metric} does not vary within the arms, so no test is possible; "
                                     "check the metric column"], best
    need = _units_needed(treatments[best], variants[control], alpha)
    if need is not None:
        have = treatments[best]["n"]
        reasons.append(
            f"inconclusive: about {need:,} units per arm would detect an effect of this size with 80% power "
            f"(now {have:,}); keep the test running or iterate on the concept"
        )
    else:
        reasons.append("inconclusive: keep the test running or iterate on the concept")
    return "iterate", reasons, best


def market_interval(fit: dict) -> str:
    """`` (bootstrap 90% interval 15,942 to 16,746)``; when every bootstrap refit gave the same
    market size the interval says nothing, and the text says why instead of showing it."""
    lo, hi, m = fit.get("m_lo"), fit.get("m_hi"), fit.get("m")
    if lo is None or hi is None:
        return ""
    if hi - lo <= 0.001 * max(abs(m or 0.0), 1.0):
        why = ("it sits on its upper bound, so the sales so far do not identify it" if fit.get("at_m_bound") or "upper bound"
               in str(fit.get("warning") or "") else "the sales so far leave no room for another value")
        return f" (no interval: every bootstrap refit gave the same market size, because {why})"
    return f" (bootstrap {fit.get('interval', 0.9):.0%} interval {lo:,.0f} to {hi:,.0f})"


def _bass_reasons(bass: StageResult) -> list[str]:
    fits = bass.artifacts.get("bass.json", {})
    reasons = []
    for sid, f in fits.items():
        text = (
            f"adoption forecast ({sid}): peak in period {f['peak_period']} at about {f['peak_value']:,.0f} "
            f"per period, total market m ≈ {f['m']:,.0f}"
        )
        text += market_interval(f)
        if f.get("share_adopted") is not None:
            text += f"; {f['share_adopted']:.0%} of it already reached"
        if f.get("warning"):
            text += f" — caution: {f['warning']}"
        reasons.append(text)
    return reasons


def _impact_reasons(impact: StageResult) -> list[str]:
    r = impact.artifacts.get("impact.json", {})
    if not r:
        return []
    sure = "significant" if r.get("significant") else "not significant"
    return [
        f"campaign impact on {r['treated']}: {_fmt_rel(r.get('rel_effect'))} vs the counterfactual from "
        f"{len(r.get('controls', []))} control series (interval {_fmt_rel(r.get('rel_effect_lo'))} to "
        f"{_fmt_rel(r.get('rel_effect_hi'))}), {_fmt_p(r.get('p_value'))}, {sure}"
    ]


def decide(ab: StageResult, bass: StageResult | None = None, *, impact: StageResult | None = None) -> dict[str, Any]:
    """Scale, iterate or stop, with the reasons behind it.

    * **iterate** when the sample-ratio check alarms (the test is broken, not the product), when
      the result is inconclusive, or when a guardrail metric degrades for the winner;
    * **scale** when a variant beats the control significantly (Holm-adjusted with several
      variants) in the metric's good direction;
    * **stop** when every variant is significantly worse than the control, or (with
      ``min_lift_rel`` set) confidently below the smallest lift worth having.

    ``ab`` is the result of :func:`~launchlab.incubation.read_out_ab`, which computed the A/B
    verdict (:func:`ab_verdict`) once and recorded it in its readout. The adoption forecast and
    the campaign impact, when given, add their figures and warnings to the reasons; they do not
    overturn the experiment. Returns ``{"decision", "reasons", "best_variant"}``: what the stage
    runner writes to ``decision.json`` and the CLI prints.
    """
    readout = ab.artifacts["readout.json"]
    decision, reasons, best = readout["decision"], list(readout["reasons"]), ab.summary.get("best_variant")
    if bass is not None:
        reasons = reasons + _bass_reasons(bass)
    if impact is not None:
        reasons = reasons + _impact_reasons(impact)
    return {"decision": decision, "reasons": reasons, "best_variant": best}
