"""The incubation stage's answers in one sentence each: whom to target, the expected gain, how
many to make. Written once by the stage (into its summary and ``plan.json``), read by the CLI,
the report and an executive summary, so nobody recomputes them."""

from __future__ import annotations

from typing import Any

NOT_TARGETED = ("not analysed: the experiment config names no segment columns (experiment.segments) and no "
                "uplift covariates (experiment.uplift)")


def whom_to_target(segments: dict[str, Any] | None, uplift: dict[str, Any] | None, treatment: str | None) -> str:
    """Which customers respond most: the segment findings of ``treatment`` (``segments.json``)
    and what the uplift model's top share captures (``uplift.json``)."""
    parts = []
    if segments is not None:
        arms = segments.get("treatments", {})
        arm = arms.get(treatment) if treatment in arms else next(iter(arms.values()), None)
        if arm is not None:
            findings = arm.get("findings", [])
            if findings:
                more = f" ({len(findings) - 1} more segment{'s' if len(findings) > 2 else ''} differ)" if len(findings) > 1 else ""
                parts.append(f"Segments: {findings[0]}{more}.")
            else:
                het = arm.get("heterogeneity", {})
                p = het.get("p_value")
                parts.append(
                    f"Segments: no segment of {', '.join(segments.get('segment_cols', []))} responds clearly differently "
                    f"from the rest ({segments.get('correction', 'adjusted')} at {segments.get('alpha', 0.05):g}"
                    + (f"; test of any heterogeneity p = {p:.2g}" if isinstance(p, (int, float)) else "") + ")."
                )
    if uplift is not None:
        rule = uplift.get("rule", {})
        share, captured = rule.get("share"), rule.get("captured_share")
        if uplift.get("beats_random") and isinstance(captured, (int, float)):
            parts.append(f"Uplift model: the top {share:.0%} of customers by predicted uplift hold {captured:.0%} of all "
                         f"incremental {uplift.get('metric')} (cross-fitted).")
        else:
            parts.append(f"Uplift model: its top {share:.0%} is not clearly better than a random {share:.0%} "
                         f"(gain CI {rule.get('gain_ci_low', float('nan')):+,.0f} to {rule.get('gain_ci_high', float('nan')):+,.0f}); "
                         "the covariates carry little about who responds.")
    return " ".join(parts) if parts else NOT_TARGETED[:1].upper() + NOT_TARGETED[1:] + "."


def expected_gain(uplift: dict[str, Any] | None) -> str:
    """The 'treat the top k%' rule with its interval (``uplift.json``), or why there is none."""
    if uplift is None:
        return "Not estimated: the experiment config names no uplift covariates (experiment.uplift)."
    return str(uplift["sentence"])


def describe_plan(sid: str, plan: dict[str, Any], demand: dict[str, Any], *, assumed: bool,
                  from_ds: str | None = None, to_ds: str | None = None) -> str:
    """One sentence: what to make of ``sid`` for the forecast horizon, and its uncertainty."""
    span = f"periods {demand['from_period']}–{demand['to_period']}"
    if from_ds and to_ds:
        span += f" ({from_ds} to {to_ds})"
    economics = (f"; economics assumed (price {plan['price']:g}, unit cost {plan['unit_cost']:g}, salvage "
                 f"{plan['salvage']:g}): give plan.economics for your own" if assumed else "")
    return (
        f"Make {plan['make']:,.0f} units of {sid} for {span}: demand over those {demand['horizon']} periods has median "
        f"{demand['median']:,.0f} ({demand['interval']:.0%} interval {demand['lo']:,.0f} to {demand['hi']:,.0f}); "
        f"a stock of {plan['stock']:,.0f} meets it with probability {plan['service_level']:.0%} "
        f"({plan['level_from']}), stock-out probability {plan['stockout_probability']:.0%}, expected profit "
        f"{plan['expected_profit']:,.0f} (5–95%: {plan['profit_lo']:,.0f} to {plan['profit_hi']:,.0f}){economics}."
    )


def how_many_to_make(plans: dict[str, Any] | None, primary: str | None, reason: str | None = None) -> str:
    """The primary series' plan sentence (``plan.json``), or why there is no plan."""
    if plans and primary in plans:
        return str(plans[primary]["sentence"])
    if plans:
        return str(next(iter(plans.values()))["sentence"])
    return f"Not planned: {reason or 'the cycle config names no adoption series (adoption)'}."
