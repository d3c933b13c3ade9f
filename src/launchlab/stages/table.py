"""The stage table: every stage of a launch cycle declared once, in cycle order.

Fingerprints, output folders, the Prefect flows, the CLI summary and cycle list, the report and
the champion policy all loop over :data:`STAGES`; a stage's settings and input files are
declared by its module's ``inputs(config)``, next to the ``run`` that reads them.
"""

from __future__ import annotations

from launchlab.stages import concepts, incubation, insight, trends
from launchlab.stages.base import CONCEPTS, INCUBATION, INSIGHT, TRENDS, ChampionMetric, Stage

STAGES: tuple[Stage, ...] = (
    Stage(
        name=INSIGHT,
        folder="insight",
        title="Demand insight — what customers need",
        run=insight.run,
        inputs=insight.inputs,
        headline=("n_needs", "outlier_share", "sentiment_accuracy"),
        champions={"launchlab-needs": ChampionMetric("silhouette"), "launchlab-sentiment": ChampionMetric("sentiment_accuracy")},
        progress="embedding reviews",
        hooks=("embedder",),
    ),
    Stage(
        name=TRENDS,
        folder="trends",
        title="Trends — what is rising",
        run=trends.run,
        inputs=trends.inputs,
        upstream=(INSIGHT,),
        headline=("n_series", "n_rising", "n_declining", "backtest_mase"),
        champions={"launchlab-forecaster": ChampionMetric("backtest_mase", higher_is_better=False)},
        progress="forecasting",
        hooks=("forecast",),
    ),
    Stage(
        name=CONCEPTS,
        folder="concepts",
        title="Concepts — what to build",
        run=concepts.run,
        inputs=concepts.inputs,
        upstream=(INSIGHT, TRENDS),
        headline=("n_concepts", "score_max"),
        champions={"launchlab-concept-scorer": ChampionMetric("history_cv_auc")},
    ),
    Stage(
        name=INCUBATION,
        folder="incubation",
        title="Launch readout — scale, iterate or stop; whom to target, how many to make",
        run=incubation.run,
        inputs=incubation.inputs,
        headline=("ab_srm_p_value", "uplift_qini_coefficient", "plan_stock"),
        champions={"launchlab-adoption": ChampionMetric("bass_r2"), "launchlab-uplift": ChampionMetric("uplift_qini_coefficient")},
        skip=incubation.skip,
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
