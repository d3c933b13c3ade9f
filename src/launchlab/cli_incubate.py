"""``launchlab incubate``: post-launch readouts (A/B tests, adoption curves, campaign impact) and
incubation marketing (whom to target, how many to make)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from launchlab.cli_common import Control, MetricCol, OutDir, UnitCol, VariantCol, mapping, series_input
from launchlab.console import err, out, print_counts, print_warnings, spinner
from launchlab.errors import InputError

incubate_app = typer.Typer(
    help="Post-launch readouts (A/B tests, adoption curves, campaign impact) and incubation marketing: whom to "
    "target (segments, uplift) and how many to make (plan).",
    no_args_is_help=True,
)


@incubate_app.command("ab")
def incubate_ab(
    data: Annotated[Path, typer.Argument(help="Experiment: one row per unit (or per variant with counts).")],
    variant_col: VariantCol,
    metric_col: MetricCol,
    out_dir: OutDir = Path("out/incubation"),
    control: Control = None,
    unit_col: UnitCol = None,
    alpha: Annotated[float, typer.Option(min=0.0001, max=0.5, help="Significance level.")] = 0.05,
    covariate_col: Annotated[Optional[str], typer.Option(help="Pre-period covariate for CUPED variance reduction.")] = None,
    guardrail: Annotated[Optional[list[str]], typer.Option(help="Guardrail metric that blocks 'scale' when it degrades: COLUMN or COLUMN:lower_is_better (repeatable).")] = None,
    sequential: Annotated[bool, typer.Option(help="Always-valid sequential readout (safe to look every day); needs --date-col.")] = False,
    date_col: Annotated[Optional[str], typer.Option(help="Exposure date column, for the sequential readout.")] = None,
    funnel_col: Annotated[Optional[list[str]], typer.Option(help="Funnel stage column after exposure, in order (repeatable: AIPL).")] = None,
) -> None:
    """Read out an A/B(/n) test: lifts with confidence intervals, p-values, sample-ratio check, decision.

    Writes OUT/readout.json.

    Example: launchlab incubate ab ../shared/data/launch/cookie_cats_ab.csv --variant-col version --metric-col retention_7 --unit-col userid --out out/ab

    Example: launchlab incubate ab data/launch_experiment.csv --variant-col variant --metric-col converted --unit-col user_id --covariate-col pre_sessions --sequential --date-col date
    """
    from launchlab import stages
    from launchlab.config import ExperimentInput
    from launchlab.console import print_readout
    from launchlab.incubation import ABConfig, BassConfig

    guardrails = {}
    for item in guardrail or []:
        column, _, direction = item.partition(":")
        if direction not in ("", "higher_is_better", "lower_is_better"):
            raise InputError(f"guardrail {item!r} has an unknown direction", fix="write COLUMN:higher_is_better or COLUMN:lower_is_better")
        guardrails[column] = direction or "higher_is_better"
    config = ABConfig(
        variant_col=variant_col, metric_col=metric_col, control=control, unit_col=unit_col, alpha=alpha,
        covariate_col=covariate_col, guardrails=guardrails, sequential=sequential, date_col=date_col, funnel_cols=funnel_col or [],
    )
    run = stages.run_incubation(ExperimentInput(path=data, ab=config), adoption=None, bass_config=BassConfig(), out_dir=out_dir)
    print_warnings(run.result.warnings)
    readout = run.result.artifacts["readout.json"]
    err.print(
        f"{data}: {readout.get('rows_in', run.inputs['experiment']['rows_in']):,} rows in = {readout.get('rows_used', 0):,} used + {readout.get('rows_quarantined', 0):,} quarantined",
        highlight=False,
    )
    print_readout(readout, metric_col=metric_col, variant_col=variant_col)
    out.print(f"Wrote {out_dir / 'readout.json'}")


def _experiment_counts(data: Path, run) -> dict[str, int]:
    """Rows of the experiment file: those quarantined by the readout's checks or by the segment
    and uplift analyses (a missing customer value), and the rest."""
    metrics = run.result.metrics
    quarantined = sum(int(metrics.get(f"{part}_rows_quarantined", 0)) for part in ("ab", "segments", "uplift"))
    rows_in = int(run.inputs["experiment"]["rows_in"])
    return {"rows_in": rows_in, "rows_used": rows_in - quarantined, "rows_quarantined": quarantined}


def _bands(items: list[str] | None) -> dict[str, list[float]]:
    """``COLUMN:EDGE,EDGE,...`` options as cut points per column."""
    bands = {}
    for item in items or []:
        column, _, edges = item.partition(":")
        try:
            bands[column] = [float(e) for e in edges.split(",")]
        except ValueError:
            raise InputError(f"band {item!r} is not COLUMN:EDGE,EDGE,...", fix="write e.g. --band recency_days:7,30,90") from None
        if not column or not edges:
            raise InputError(f"band {item!r} is not COLUMN:EDGE,EDGE,...", fix="write e.g. --band recency_days:7,30,90")
    return bands


def _experiment_input(data: Path, variant_col: str, metric_col: str, control: str | None, unit_col: str | None, **analyses):
    """The experiment as the stage takes it; settings pydantic rejects are bad input, not a bug."""
    from pydantic import ValidationError

    from launchlab.config import ExperimentInput

    try:
        return ExperimentInput(path=data, ab={"variant_col": variant_col, "metric_col": metric_col, "control": control,
                                             "unit_col": unit_col}, **analyses)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(first["msg"], column=".".join(map(str, first["loc"])), fix="check that option") from None


@incubate_app.command("segments")
def incubate_segments(
    data: Annotated[Path, typer.Argument(help="Experiment: one row per unit with its variant, outcome and customer columns.")],
    segment_col: Annotated[list[str], typer.Option(help="Customer column whose levels are segments, e.g. channel (repeatable).")],
    variant_col: VariantCol = "variant",
    metric_col: MetricCol = "converted",
    control: Control = None,
    unit_col: UnitCol = None,
    band: Annotated[Optional[list[str]], typer.Option(help="Cut points of a numeric column, COLUMN:EDGE,EDGE,... (repeatable); other numeric columns with many values get quantile bands.")] = None,
    correction: Annotated[str, typer.Option(help="Across segments: bh (Benjamini-Hochberg, false discovery rate) or holm (family-wise).")] = "bh",
    alpha: Annotated[float, typer.Option(min=0.0001, max=0.5, help="Significance level.")] = 0.05,
    out_dir: OutDir = Path("out/incubation"),
) -> None:
    """Where does the treatment work better? Lift per segment with intervals, adjusted p-values,
    shrinkage towards the overall lift, and tests of whether the effect varies at all.

    Writes OUT/segments.parquet, OUT/heterogeneity.parquet and OUT/segments.json (and the A/B readout).

    Example: launchlab incubate segments data/launch_experiment.csv --segment-col channel --segment-col petite --segment-col recency_days --band recency_days:7,30,90 --unit-col user_id

    Example: launchlab incubate segments ../shared/data/launch/hillstrom_email_experiment.csv --variant-col segment --metric-col visit --control "No E-Mail" --segment-col womens --segment-col channel
    """
    from launchlab import stages
    from launchlab.console import print_segments
    from launchlab.incubation import BassConfig

    experiment = _experiment_input(data, variant_col, metric_col, control, unit_col,
                                   segments={"segment_cols": segment_col, "bands": _bands(band), "correction": correction,
                                             "alpha": alpha})
    with spinner("estimating segment effects"):
        run = stages.run_incubation(experiment, adoption=None, bass_config=BassConfig(), out_dir=out_dir)
    print_warnings(run.result.warnings)
    print_counts(str(data), _experiment_counts(data, run), out_dir)
    print_segments(run.result.tables["segments"], run.result.tables["heterogeneity"], run.result.artifacts["segments.json"])
    out.print(f"Wrote {out_dir / 'segments.parquet'}, {out_dir / 'heterogeneity.parquet'} and {out_dir / 'segments.json'}")


@incubate_app.command("uplift")
def incubate_uplift(
    data: Annotated[Path, typer.Argument(help="Experiment: one row per unit with its variant, outcome and customer columns.")],
    covariate_col: Annotated[list[str], typer.Option(help="Pre-treatment customer column the model may use (repeatable); never an outcome measured after assignment.")],
    variant_col: VariantCol = "variant",
    metric_col: MetricCol = "converted",
    control: Control = None,
    unit_col: UnitCol = None,
    treatment: Annotated[Optional[str], typer.Option(help="Treatment arm to model (default: the only one, or the best on average).")] = None,
    target_share: Annotated[float, typer.Option(min=0.01, max=1.0, help="The rule: treat this share of customers, those with the highest predicted uplift.")] = 0.3,
    learner: Annotated[str, typer.Option(help="x (X-learner) or t (T-learner), on gradient-boosted trees.")] = "x",
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-fitting folds: every customer is scored by a model that never saw them.")] = 5,
    population: Annotated[Optional[float], typer.Option(help="Customers the rule is applied to (default: the experiment's size).")] = None,
    out_dir: OutDir = Path("out/incubation"),
) -> None:
    """Whom to treat first: an uplift model (X- or T-learner) of each customer's lift, judged out
    of sample (cross-fitted Qini and uplift curves, top 10/20/30% vs random) and a rule "treat
    the top k%" with the expected incremental outcomes and their interval.

    Writes OUT/uplift.json, OUT/uplift_curve.parquet and OUT/uplift_targeting.parquet (and the A/B readout).

    Example: launchlab incubate uplift data/launch_experiment.csv --covariate-col channel --covariate-col past_buyer --covariate-col recency_days --covariate-col petite --covariate-col pre_sessions --unit-col user_id --target-share 0.2
    """
    from launchlab import stages
    from launchlab.console import print_uplift
    from launchlab.incubation import BassConfig

    experiment = _experiment_input(data, variant_col, metric_col, control, unit_col,
                                   uplift={"covariate_cols": covariate_col, "treatment": treatment, "target_share": target_share,
                                           "learner": learner, "n_folds": folds, "population": population})
    with spinner("cross-fitting the uplift model"):
        run = stages.run_incubation(experiment, adoption=None, bass_config=BassConfig(), out_dir=out_dir)
    print_warnings(run.result.warnings)
    print_counts(str(data), _experiment_counts(data, run), out_dir)
    print_uplift(run.result.artifacts["uplift.json"], run.result.tables["uplift_targeting"])
    out.print(f"Wrote {out_dir / 'uplift.json'}, {out_dir / 'uplift_curve.parquet'} and {out_dir / 'uplift_targeting.parquet'}")


@incubate_app.command("plan")
def incubate_plan(
    series: Annotated[Path, typer.Argument(help="Per-period sales since launch: long or wide (a column per product).")],
    horizon: Annotated[int, typer.Option("--horizon", "-h", min=1, help="Periods ahead to plan for.")] = 12,
    price: Annotated[Optional[float], typer.Option(help="Selling price per unit.")] = None,
    unit_cost: Annotated[Optional[float], typer.Option(help="Cost to make one unit.")] = None,
    salvage: Annotated[Optional[float], typer.Option(help="Value of a unit left unsold at the end of the horizon.")] = None,
    service_level: Annotated[Optional[float], typer.Option(help="Chance of meeting all demand (default: the profit-maximising critical ratio (price - cost) / (price - salvage)).")] = None,
    on_hand: Annotated[Optional[float], typer.Option(help="Units already in stock; the plan makes the rest.")] = None,
    interval: Annotated[float, typer.Option(min=0.5, max=0.99, help="Coverage of the reported demand interval.")] = 0.9,
    out_dir: OutDir = Path("out/incubation"),
    layout: Annotated[str, typer.Option(help="auto, long, wide-periods or wide-series.")] = "auto",
    id_col: Annotated[Optional[str], typer.Option(help="Series id column (long layout).")] = None,
    ds_col: Annotated[Optional[str], typer.Option(help="Period column.")] = None,
    y_col: Annotated[Optional[str], typer.Option(help="Sales column (long layout).")] = None,
    cumulative: Annotated[bool, typer.Option(help="The values are cumulative sales.")] = False,
) -> None:
    """How many to make: a calibrated quantile forecast of cumulative demand over the next
    periods (from the Bass fit of early sales) and the newsvendor stock for it, with stock-out
    probability and profit range. Without --price/--unit-cost/--salvage the economics are
    assumed (price 1, cost 0.6, salvage 0) and the output says so.

    Writes OUT/plan.json, OUT/demand.json, OUT/demand_forecast.parquet (and the Bass fit).

    Example: launchlab incubate plan data/launch_adoption_weekly.csv --horizon 12 --price 118 --unit-cost 38 --salvage 20
    """
    from pydantic import ValidationError

    from launchlab import stages
    from launchlab.console import print_plan
    from launchlab.incubation import BassConfig, ProductionConfig

    adoption = series_input(series, mapping(unique_id=id_col, ds=ds_col, y=y_col), layout)
    given = {k: v for k, v in {"price": price, "unit_cost": unit_cost, "salvage": salvage, "service_level": service_level,
                                "on_hand": on_hand}.items() if v is not None}
    try:
        plan = ProductionConfig(demand={"horizon": horizon, "interval": interval}, economics=given or None)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(first["msg"].removeprefix("Value error, "), fix="check --price, --unit-cost, --salvage and --service-level") from None
    with spinner("forecasting demand"):
        run = stages.run_incubation(None, adoption=adoption, bass_config=BassConfig(cumulative=cumulative, horizon=horizon),
                                    plan=plan, out_dir=out_dir)
    if "plan.json" not in run.result.artifacts:
        raise InputError(run.result.summary["headlines"]["how_many_to_make"], file=str(series), fix="give at least 5 periods of sales after launch")
    print_warnings(run.result.warnings)
    print_counts(str(series), run.inputs["adoption"], out_dir)
    print_plan(run.result.artifacts["plan.json"], run.result.artifacts["demand.json"])
    out.print(run.result.summary["headlines"]["how_many_to_make"], highlight=False, markup=False)
    out.print(f"Wrote {out_dir / 'plan.json'}, {out_dir / 'demand.json'} and {out_dir / 'demand_forecast.parquet'}")


@incubate_app.command("impact")
def incubate_impact(
    series: Annotated[Path, typer.Argument(help="Sales of the launched product and of control products: long or wide.")],
    treated: Annotated[str, typer.Option(help="Series id of the product that got the campaign.")],
    intervention: Annotated[str, typer.Option(help="First period (date or integer) of the campaign.")],
    out_dir: OutDir = Path("out/impact"),
    control: Annotated[Optional[list[str]], typer.Option(help="Control series id (repeatable; default: every other series).")] = None,
    layout: Annotated[str, typer.Option(help="auto, long, wide-periods or wide-series.")] = "auto",
) -> None:
    """Effect of a promotion or campaign on a launched product's sales, against control series
    (CausalImpact-style regression on controls): pointwise and cumulative effect with intervals.

    Writes OUT/impact.json and OUT/impact.parquet.

    Example: launchlab incubate impact sales.csv --treated P12 --intervention 40 --out out/impact
    """
    from launchlab import io
    from launchlab.incubation import ImpactConfig, estimate_impact
    from launchlab.stages import write_outputs

    loaded = io.load_series(series, layout=layout)
    ids = set(loaded.frame["unique_id"])
    for name in [treated, *(control or [])]:
        if name not in ids:
            raise InputError(f"series {name!r} not found ({len(ids)} series, e.g. {', '.join(sorted(ids)[:5])})", file=str(series), fix="check --treated/--control")
    moment: str | int = int(intervention) if intervention.lstrip("-").isdigit() else intervention
    result = estimate_impact(loaded.frame[["unique_id", "ds", "y"]], config=ImpactConfig(treated=treated, controls=control or None, intervention=moment))
    write_outputs(result, out_dir, {"series": loaded.quarantine})
    print_warnings(loaded.warnings + result.warnings)
    impact = result.artifacts["impact.json"]
    out.print_json(data={k: v for k, v in impact.items() if not isinstance(v, (list, dict))})
    out.print(f"Wrote {out_dir / 'impact.json'}")


@incubate_app.command("bass")
def incubate_bass(
    series: Annotated[Path, typer.Argument(help="Per-period sales after launch: long or wide (a column per product).")],
    out_dir: OutDir = Path("out/incubation"),
    layout: Annotated[str, typer.Option(help="auto, long, wide-periods or wide-series.")] = "auto",
    id_col: Annotated[Optional[str], typer.Option(help="Series id column (long layout).")] = None,
    ds_col: Annotated[Optional[str], typer.Option(help="Period column.")] = None,
    y_col: Annotated[Optional[str], typer.Option(help="Sales column (long layout).")] = None,
    cumulative: Annotated[bool, typer.Option(help="The values are cumulative sales.")] = False,
) -> None:
    """Fit Bass diffusion curves: innovation p, imitation q, market size m and the peak period.

    Writes OUT/bass.json.

    Example: launchlab incubate bass ../shared/data/diffusion/assassins_creed_weekly_sales.csv --out out/bass
    """
    from launchlab import stages
    from launchlab.console import print_bass
    from launchlab.incubation import BassConfig

    adoption = series_input(series, mapping(unique_id=id_col, ds=ds_col, y=y_col), layout)
    run = stages.run_incubation(None, adoption=adoption, bass_config=BassConfig(cumulative=cumulative), out_dir=out_dir)
    print_warnings(run.result.warnings)
    print_counts(str(series), run.inputs["adoption"], out_dir)
    print_bass(run.result.artifacts["bass.json"])
    out.print(f"Wrote {out_dir / 'bass.json'}")
