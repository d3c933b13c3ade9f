"""The stage table: every stage of a launch cycle declared once, in cycle order.

Fingerprints, output folders, the Prefect flows, the CLI summary and cycle list, the report and
the champion policy all loop over :data:`STAGES`; a stage's settings and input files are
declared by its module's ``inputs(config)``, next to the ``run`` that reads them.
"""

from __future__ import annotations

from launchlab.stages import concepts, evidence, incubation, insight, trends
from launchlab.stages.base import CONCEPTS, INCUBATION, INSIGHT, TRENDS, ChampionMetric, Headline, Stage

STAGES: tuple[Stage, ...] = (
    Stage(
        name=INSIGHT,
        folder="insight",
        title="Demand insight — what customers need",
        run=insight.run,
        inputs=insight.inputs,
        headline=(
            Headline("n_needs", "needs_found"),
            Headline("npmi_coherence", "npmi_coherence", "higher"),
            Headline("outlier_share", "outlier_share", "lower"),
            Headline("sentiment_accuracy", "sentiment_accuracy", "higher"),
        ),
        champions={
            "launchlab-needs": ChampionMetric("silhouette", se="silhouette_se", n="silhouette_n"),
            "launchlab-sentiment": ChampionMetric(
                "sentiment_accuracy", se="sentiment_accuracy_se", n="sentiment_n_labels",
                absent="sentiment accuracy is measured on star ratings; reviews without stars are scored by the shipped model, "
                "which has nothing here to be measured on",
            ),
        },
        progress=insight.progress_label,
        hooks=("embedder",),
        evidence=evidence.insight,
    ),
    Stage(
        name=TRENDS,
        folder="trends",
        title="Trends — what is rising",
        run=trends.run,
        inputs=trends.inputs,
        upstream=(INSIGHT,),
        headline=(
            Headline("n_series", "series_forecast"),
            Headline("n_emerging", "emerging_series"),
            Headline("n_rising", "rising_series"),
            Headline("n_declining", "declining_series"),
            Headline("backtest_mase", "backtest_mase", "lower"),
        ),
        champions={"launchlab-forecaster": ChampionMetric(
            "backtest_mase", higher_is_better=False, se="backtest_mase_se", n="backtest_mase_n",
            absent="the backtest needs series long enough for at least one rolling origin (backtest_windows > 0)",
        )},
        progress="forecasting",
        hooks=("forecast",),
        evidence=evidence.trends,
    ),
    Stage(
        name=CONCEPTS,
        folder="concepts",
        title="Concepts — what to build",
        run=concepts.run,
        inputs=concepts.inputs,
        upstream=(INSIGHT, TRENDS),
        headline=(Headline("n_concepts", "concepts_scored"), Headline("score_max", "top_concept_score"),
                  Headline("top_score_gap", "lead_of_top_concept")),
        champions={"launchlab-concept-scorer": ChampionMetric(
            "history_auc", se="history_auc_se", n="history_n",
            absent="the scorer is measured only against past launches with success/failure outcomes (concept_history); "
            "without them it is the transparent weighted score",
        )},
        evidence=evidence.concepts,
    ),
    Stage(
        name=INCUBATION,
        folder="incubation",
        title="Launch readout — scale, iterate or stop; whom to target, how many to make",
        run=incubation.run,
        inputs=incubation.inputs,
        headline=(Headline("ab_srm_p_value", "sample_ratio_check_p"), Headline("bass_r2", "adoption_curve_r2", "higher"),
                  Headline("uplift_qini_coefficient", "uplift_qini_coefficient", "higher"),
                  Headline("uplift_rule_incremental", "incremental_outcomes_of_targeting", "higher"),
                  Headline("plan_make", "units_to_make")),
        champions={
            "launchlab-adoption": ChampionMetric(
                "bass_r2", se="bass_r2_se", n="bass_n_points",
                absent="the adoption curve's fit is measured once the series has at least 5 periods with some variation",
            ),
            "launchlab-uplift": ChampionMetric(
                "uplift_qini_coefficient", se="uplift_qini_coefficient_se", n="uplift_rows_used",
                absent="the uplift model is fitted and judged (cross-fitted Qini coefficient) only when experiment.uplift "
                "names customer covariates",
            ),
        },
        skip=incubation.skip,
        evidence=evidence.incubation,
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)

CHAMPION_METRICS: dict[str, ChampionMetric] = {model: metric for s in STAGES for model, metric in s.champions.items()}
"""Per registered model, the metric that decides its ``champion`` alias."""


def get_stage(name: str) -> Stage:
    """The table row of stage ``name`` (``01-insight`` …)."""
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise ValueError(f"unknown stage {name!r} (stages: {', '.join(STAGE_NAMES)})")


def downstream(name: str) -> tuple[str, ...]:
    """``name`` and every stage that reads it, directly or through another stage, in cycle order."""
    found = {get_stage(name).name}
    for stage in STAGES:
        if found & set(stage.upstream):
            found.add(stage.name)
    return tuple(s for s in STAGE_NAMES if s in found)
