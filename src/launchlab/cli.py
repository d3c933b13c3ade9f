"""The ``launchlab`` command line.

Bad input ends with one line on stderr and exit code 2; a bug ends with a traceback.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from launchlab import __version__
from launchlab.console import err, out, print_counts, print_warnings, spinner
from launchlab.errors import InputError

app = typer.Typer(
    name="launchlab",
    help="AI-assisted new-product development: demand insight → trends → concepts → launch readout.\n\n"
    "Example: launchlab run   (a full launch cycle on the bundled demo data)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
incubate_app = typer.Typer(
    help="Post-launch readouts (A/B tests, adoption curves, campaign impact) and incubation marketing: whom to "
    "target (segments, uplift) and how many to make (plan).",
    no_args_is_help=True,
)
app.add_typer(incubate_app, name="incubate")

OutDir = Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if missing).")]


class Level(str, Enum):
    """Unit of need discovery."""

    mention = "mention"
    review = "review"


Model = Annotated[str, typer.Option("--model", help="Embedding model: a local model folder or all-MiniLM-L6-v2 (shipped offline); a suffix @torch, @onnx or @onnx-int8 picks the backend (all-MiniLM-L6-v2 runs on fp32 onnx by default).")]
# The experiment columns every `incubate` command on a launch test takes.
VariantCol = Annotated[str, typer.Option(help="Column naming the variant of each row.")]
MetricCol = Annotated[str, typer.Option(help="Outcome column (0/1, true/false or a number).")]
Control = Annotated[Optional[str], typer.Option(help="Control variant (default: 'control' or the first).")]
UnitCol = Annotated[Optional[str], typer.Option(help="Randomisation unit: units in several variants and repeats are quarantined.")]


def _mapping(**columns: str | None) -> dict[str, str]:
    return {field: column for field, column in columns.items() if column}


def _series_input(path: Path, mapping: dict[str, str], layout: str):
    """A series file as the stages take it; an unknown ``--layout`` is bad input, not a bug."""
    from pydantic import ValidationError

    from launchlab.config import SeriesInput

    try:
        return SeriesInput(path=path, mapping=mapping, layout=layout)
    except ValidationError:
        raise InputError(f"unknown layout {layout!r}", fix="use --layout auto, long, wide-periods or wide-series") from None


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"launchlab {__version__}")
        raise typer.Exit()


@app.command()
def run(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Cycle config YAML (default: the bundled demo).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Override the config's output folder.")] = None,
    sample: Annotated[Optional[int], typer.Option("--sample", help="Override how many reviews to sample.")] = None,
    task_runner: Annotated[
        str,
        typer.Option("--task-runner",
                     help="dask: spread embedding batches and forecasts over a Dask cluster (local unless --dask-address)."),
    ] = "default",
    dask_address: Annotated[
        Optional[str], typer.Option("--dask-address", help="Scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786.")
    ] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Name the cycle (MLflow run, report), e.g. 'trial sample 300'.")] = None,
    promote: Annotated[
        bool, typer.Option("--promote/--no-promote", help="Let models that beat the registry's champions on evidence take the champion alias.")
    ] = True,
) -> None:
    """Run a full launch cycle (insight → trends → concepts → incubation) as a Prefect flow,
    tracked as one MLflow parent run with a child run per stage.

    Example: launchlab run --config my-cycle.yaml --task-runner dask

    Example: launchlab run --sample 300 --name "trial sample 300" --out out/trial --no-promote
    """
    if task_runner not in ("default", "dask"):
        raise InputError(f"unknown task runner {task_runner!r}", fix="use --task-runner default or --task-runner dask")
    if dask_address and task_runner != "dask":
        raise InputError("--dask-address needs --task-runner dask", fix="add --task-runner dask or drop --dask-address")
    from launchlab.config import Settings, default_cycle_config, load_cycle_config
    from launchlab.runtime import prepare_environment

    settings = Settings()
    prepare_environment(settings)
    cycle = load_cycle_config(config) if config else default_cycle_config()
    if out_dir is not None:
        cycle.out_dir = out_dir.resolve()
    if sample is not None:
        cycle.reviews.sample = sample
    if name is not None:
        from launchlab.form import cycle_name

        cycle.name = cycle_name(name)
    _check_inputs(cycle)
    err.print(f"[bold]launchlab {__version__}[/]: cycle [cyan]{cycle.name}[/], MLflow at {settings.resolved_tracking_uri()}")
    from flows.launch_cycle import launch_cycle, quiet_input_errors_on_console
    from launchlab.console import print_cycle_summary

    with quiet_input_errors_on_console():
        result = launch_cycle(cycle, task_runner=task_runner, dask_address=dask_address, promote=promote)
    print_cycle_summary(result, settings)


def _check_inputs(cycle) -> None:
    """Fail before starting Prefect when an input file is missing."""
    from launchlab.stages import STAGES

    for path in (path for stage in STAGES for path in stage.inputs(cycle).files.values()):
        if not Path(path).exists():
            raise InputError("input file not found", file=str(path), fix="check the path in the cycle config (or run from the launchlab folder)")


@app.command()
def insight(
    reviews: Annotated[Path, typer.Argument(help="Reviews: CSV, Parquet or JSON Lines (Amazon dumps recognised).")],
    out_dir: OutDir = Path("out/insight"),
    text_col: Annotated[Optional[str], typer.Option(help="Column with the review text.")] = None,
    id_col: Annotated[Optional[str], typer.Option(help="Column with a unique review id (default: generated).")] = None,
    rating_col: Annotated[Optional[str], typer.Option(help="Column with star ratings 1–5.")] = None,
    date_col: Annotated[Optional[str], typer.Option(help="Column with the review date.")] = None,
    product_col: Annotated[Optional[str], typer.Option(help="Column with the product id.")] = None,
    category_col: Annotated[Optional[str], typer.Option(help="Column with the product category.")] = None,
    sample: Annotated[Optional[int], typer.Option(help="Use a seeded random sample of this many reviews.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    model: Model = "all-MiniLM-L6-v2",
    level: Annotated[
        Level,
        typer.Option(help="mention: split reviews into sentences/clauses (a review can voice several needs); review: whole reviews."),
    ] = Level.mention,
    cache_dir: Annotated[Path, typer.Option(help="Embedding cache folder: re-runs embed only new text.")] = Path(".cache/embeddings"),
) -> None:
    """Discover customer needs, their sentiment and quotes from reviews.

    Writes OUT/needs.parquet, OUT/reviews.parquet and OUT/mentions.parquet (one row per review at review level).

    Example: launchlab insight ../shared/data/reviews/womens_clothing_reviews.parquet --out out/insight --sample 2000
    """
    from launchlab import stages
    from launchlab.config import ReviewsInput
    from launchlab.console import console_progress, print_needs
    from launchlab.insight import InsightConfig
    from launchlab.insight.sentiment import describe_sentiment
    from launchlab.runtime import prepare_environment

    prepare_environment()
    source = ReviewsInput(
        path=reviews,
        mapping=_mapping(text=text_col, review_id=id_col, rating=rating_col, date=date_col, product=product_col, category=category_col),
        sample=sample,
    )
    with console_progress("embedding reviews") as progress:
        config = InsightConfig(seed=seed, level=level.value, cache_dir=cache_dir)
        result = stages.run_insight(source, config=config, out_dir=out_dir, embedding_model=model, progress=progress)
    print_warnings(result.result.warnings)
    print_counts(str(reviews), result.inputs["reviews"], out_dir)
    print_needs(result.result.tables["needs"])
    note = describe_sentiment(result.result.params, result.result.metrics)
    if note:
        out.print(note, highlight=False)
    out.print(f"Wrote {out_dir / 'needs.parquet'}, {out_dir / 'reviews.parquet'} and {out_dir / 'mentions.parquet'}")


@app.command()
def trends(
    series: Annotated[list[Path], typer.Argument(help="One or more series files: long (unique_id, ds, y) or wide.")],
    horizon: Annotated[int, typer.Option("--horizon", "-h", min=1, help="Periods to forecast.")] = 8,
    out_dir: OutDir = Path("out/trends"),
    layout: Annotated[str, typer.Option(help="auto, long, wide-periods (a column per period) or wide-series (a column per series).")] = "auto",
    id_col: Annotated[Optional[str], typer.Option(help="Series id column (long layout).")] = None,
    ds_col: Annotated[Optional[str], typer.Option(help="Date or period column.")] = None,
    y_col: Annotated[Optional[str], typer.Option(help="Value column (long layout).")] = None,
    freq: Annotated[Optional[str], typer.Option(help="Pandas frequency (W, MS, D…); default inferred.")] = None,
    season_length: Annotated[Optional[int], typer.Option(help="Season length in periods; default from the frequency.")] = None,
) -> None:
    """Forecast series with intervals and flag rising and declining ones.

    Writes OUT/forecasts.parquet and OUT/trends.parquet.

    Example: launchlab trends ../shared/data/series/uci_sales_transactions_weekly.csv --horizon 8 --out out/trends
    """
    from launchlab import stages
    from launchlab.console import print_trends
    from launchlab.trends import TrendsConfig

    inputs = [_series_input(p, _mapping(unique_id=id_col, ds=ds_col, y=y_col), layout) for p in series]
    config = TrendsConfig(horizon=horizon, freq=freq, season_length=season_length)
    with spinner("forecasting"):
        result = stages.run_trends(inputs, config=config, out_dir=out_dir)
    print_warnings(result.result.warnings)
    for info in result.inputs.values():
        print_counts(info["path"], info, out_dir)
    print_trends(result.result.tables["trends"])
    out.print(f"Wrote {out_dir / 'forecasts.parquet'} and {out_dir / 'trends.parquet'}")


@app.command()
def concepts(
    concepts_file: Annotated[Path, typer.Argument(metavar="CONCEPTS", help="YAML or CSV of concepts (concept_id, name, description, claims, price).")],
    insight_dir: Annotated[Path, typer.Option("--insight", help="Folder written by `launchlab insight`.")],
    out_dir: OutDir = Path("out/concepts"),
    trends_dir: Annotated[Optional[Path], typer.Option("--trends", help="Folder written by `launchlab trends` (adds momentum).")] = None,
    history: Annotated[Optional[Path], typer.Option("--history", help="Past launches with outcomes (name, description, outcome) to learn the score from.")] = None,
    norms: Annotated[Optional[Path], typer.Option("--norms", help="Parquet of earlier scored concepts for percentiles; updated with this run's.")] = None,
    model: Model = "all-MiniLM-L6-v2",
) -> None:
    """Score and rank product concepts against the discovered needs (and trends).

    Writes OUT/scores.parquet.

    Example: launchlab concepts data/concepts.yaml --insight out/insight --out out/concepts
    """
    from launchlab import stages
    from launchlab.concepts import ConceptsConfig
    from launchlab.console import print_scores
    from launchlab.runtime import prepare_environment

    prepare_environment()
    with spinner("scoring concepts"):
        result = stages.run_concepts(
            concepts_file, insight_dir=insight_dir, trends_dir=trends_dir, config=ConceptsConfig(), out_dir=out_dir,
            embedding_model=model, history=history, norms=norms,
        )
    print_warnings(result.result.warnings)
    print_counts(str(concepts_file), result.inputs["concepts"], out_dir)
    print_scores(result.result.tables["scores"])
    out.print(f"Wrote {out_dir / 'scores.parquet'}")


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

    adoption = _series_input(series, _mapping(unique_id=id_col, ds=ds_col, y=y_col), layout)
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

    adoption = _series_input(series, _mapping(unique_id=id_col, ds=ds_col, y=y_col), layout)
    run = stages.run_incubation(None, adoption=adoption, bass_config=BassConfig(cumulative=cumulative), out_dir=out_dir)
    print_warnings(run.result.warnings)
    print_counts(str(series), run.inputs["adoption"], out_dir)
    print_bass(run.result.artifacts["bass.json"])
    out.print(f"Wrote {out_dir / 'bass.json'}")


@app.command()
def serve(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Cycle config YAML used as the deployments' default parameters.")] = None,
    timezone: Annotated[str, typer.Option(help="Timezone of the schedules (IANA name).")] = "UTC",
    weekly_cron: Annotated[str, typer.Option(help="Cron of the weekly full launch cycle.")] = "0 6 * * 1",
    daily_cron: Annotated[str, typer.Option(help="Cron of the daily incubation readout.")] = "0 7 * * *",
    start_server: Annotated[bool, typer.Option("--start-server", help="Also start a local Prefect server on 127.0.0.1 (home .prefect/).")] = False,
    port: Annotated[int, typer.Option(help="Port of the server started by --start-server.")] = 4200,
) -> None:
    """Serve the scheduled deployments (weekly launch cycle, daily incubation readout) on a
    running Prefect server, so they run on schedule and from the Prefect UI's "Run" button.

    Needs a running server: PREFECT_API_URL (e.g. http://127.0.0.1:4200/api), or --start-server
    (what `make serve` does). Stop with Ctrl-C; the schedules stay active for the next serve.

    Example: launchlab serve --start-server --timezone Europe/Paris
    """
    import os
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from launchlab.config import Settings
    from launchlab.runtime import prepare_environment, start_prefect_server, stop_process, wait_for_prefect

    server = None
    if start_server:
        server, api_url = start_prefect_server(Path(Settings().prefect_home).resolve(), port=port)
        try:
            wait_for_prefect(api_url, process=server)
        except RuntimeError as exc:
            stop_process(server)
            raise InputError(f"{exc} (log: {Path(Settings().prefect_home) / 'server.log'})", fix=f"free port {port} or pass --port") from None
        os.environ["PREFECT_API_URL"] = api_url
        err.print(f"Prefect server and UI at {api_url.removesuffix('/api')}")
    if not os.environ.get("PREFECT_API_URL"):
        raise InputError(
            "serving deployments needs a running Prefect server (Prefect's ephemeral API cannot run schedules)",
            fix="run `make serve`, or start `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api",
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown timezone {timezone!r}", fix="use an IANA name such as UTC or Europe/Paris") from None
    prepare_environment()
    if config is not None:
        from launchlab.config import load_cycle_config

        load_cycle_config(config)
    from flows.deployments import serve_deployments

    try:
        serve_deployments(config, timezone=timezone, weekly_cron=weekly_cron, daily_cron=daily_cron)
    finally:
        if server is not None:
            stop_process(server)


@app.command()
def cycles(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many recent cycles.")] = 20,
) -> None:
    """List past launch cycles: date, status, decision, data versions and time per stage.

    Example: launchlab cycles -n 5
    """
    from launchlab.config import Settings
    from launchlab.console import print_cycles
    from launchlab.runtime import prepare_environment
    from launchlab.tracking import Tracker

    prepare_environment()
    entries = Tracker(Settings()).connect().cycle_history(limit=limit)
    if not entries:
        out.print("No launch cycles recorded yet: run `launchlab run`.")
        return
    print_cycles(entries, Settings().experiment)


@app.command()
def diff(
    cycle_a: Annotated[str, typer.Argument(help="Earlier cycle: cycle id, MLflow run id, or 'previous'.")] = "previous",
    cycle_b: Annotated[str, typer.Argument(help="Later cycle: cycle id, MLflow run id, or 'latest'.")] = "latest",
) -> None:
    """Show what changed between two cycles: new and vanished needs, trend class changes,
    concept rank changes, model versions and the decision.

    Example: launchlab diff previous latest
    """
    from launchlab.config import Settings
    from launchlab.console import print_diff
    from launchlab.cycle_diff import DIFF_OUTPUTS, diff_recorded
    from launchlab.runtime import prepare_environment
    from launchlab.tracking import Tracker

    prepare_environment()
    tracker = Tracker(Settings()).connect()
    cycles = []
    for ref in (cycle_a, cycle_b):
        cycle = tracker.recorded_cycle(ref, DIFF_OUTPUTS)
        if cycle is None:
            raise InputError(f"no launch cycle {ref!r} in the MLflow store", fix="list them with `launchlab cycles`")
        cycles.append(cycle)
    print_diff(diff_recorded(*cycles), *cycles)


@app.command("config")
def show_config() -> None:
    """Print the bundled demo cycle config as YAML, a starting point for your own --config file.

    Example: launchlab config > my-cycle.yaml
    """
    import yaml

    from launchlab.config import DEMO_CONFIG

    out.print(yaml.safe_dump(DEMO_CONFIG, sort_keys=False), highlight=False, markup=False)


def main() -> None:
    """Entry point: run the app; bad input → one line on stderr and exit code 2."""
    try:
        app()
    except InputError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except PermissionError as exc:
        err.print(f"[red]error:[/] cannot write {exc.filename}: permission denied; choose another --out folder", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:
        if exc.errno == 28:
            err.print(f"[red]error:[/] the disk is full while writing {exc.filename or ''}; free space or choose another --out folder", highlight=False, soft_wrap=True)
            sys.exit(2)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
