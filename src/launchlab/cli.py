"""The ``launchlab`` command line.

Bad input ends with one line on stderr and exit code 2; a bug ends with a traceback.
"""

from __future__ import annotations

import sys
from enum import Enum
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from launchlab import __version__
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
incubate_app = typer.Typer(help="Post-launch readouts: A/B tests and adoption curves.", no_args_is_help=True)
app.add_typer(incubate_app, name="incubate")

# Piped output (CI logs, files) gets wide tables instead of 80-column squeezed ones.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 180)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 180)

OutDir = Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if missing).")]


class Level(str, Enum):
    """Unit of need discovery."""

    mention = "mention"
    review = "review"


Model = Annotated[str, typer.Option("--model", help="Embedding model: a local model folder or all-MiniLM-L6-v2 (shipped offline).")]


def _mapping(**columns: str | None) -> dict[str, str]:
    return {field: column for field, column in columns.items() if column}


def _counts_line(name: str, counts: dict[str, int], quarantine_dir: Path) -> str:
    line = f"{name}: {counts['rows_in']:,} rows in = {counts['rows_used']:,} used + {counts['rows_quarantined']:,} quarantined"
    if counts.get("rows_sampled_out"):
        line += f" + {counts['rows_sampled_out']:,} left out by sampling"
    if counts["rows_quarantined"]:
        line += f" (reasons in {quarantine_dir / 'quarantine'})"
    return line


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        err.print(f"[yellow]note:[/] {warning}", highlight=False)


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
) -> None:
    """Run a full launch cycle (insight → trends → concepts → incubation) as a Prefect flow,
    tracked as one MLflow parent run with a child run per stage.

    Example: launchlab run --config my-cycle.yaml --task-runner dask
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
    _check_inputs(cycle)
    err.print(f"[bold]launchlab {__version__}[/]: cycle [cyan]{cycle.name}[/], MLflow at {settings.resolved_tracking_uri()}")
    from flows.launch_cycle import launch_cycle

    result = launch_cycle(cycle, task_runner=task_runner, dask_address=dask_address)
    print_cycle_summary(result)


def _check_inputs(cycle) -> None:
    """Fail before starting Prefect when an input file is missing."""
    from launchlab.stages import STAGES

    for path in (path for stage in STAGES for path in stage.inputs(cycle).files.values()):
        if not Path(path).exists():
            raise InputError("input file not found", file=str(path), fix="check the path in the cycle config (or run from the launchlab folder)")


def print_cycle_summary(result: dict) -> None:
    """Top needs, rising trends, concept ranking, launch decision, and where to look next."""
    from launchlab.stages import CONCEPTS, INCUBATION, INSIGHT, TRENDS

    stages = result["stages"]
    insight = stages.get(INSIGHT, {})
    table = Table(title="Top needs", title_justify="left")
    for column in ("need", "share", "sentiment"):
        table.add_column(column, justify="left" if column == "need" else "right")
    for need in insight.get("summary", {}).get("top_needs", [])[:8]:
        table.add_row(str(need.get("label")), f"{need.get('share', 0):.1%}", f"{need.get('sentiment_mean', 0):+.2f}")
    out.print(table)
    trends = stages.get(TRENDS, {}).get("summary", {})
    rising = trends.get("rising", [])[:5]
    if rising:
        out.print("[bold]Rising:[/] " + ", ".join(_trend_label(r) for r in rising))
    else:
        out.print("[bold]Rising:[/] none detected")
    ranking = stages.get(CONCEPTS, {}).get("summary", {}).get("ranking", [])
    table = Table(title="Concept ranking", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("concept")
    table.add_column("score", justify="right")
    for i, concept in enumerate(ranking[:10], start=1):
        table.add_row(str(i), str(concept.get("name")), f"{concept.get('score', 0):.0f}")
    out.print(table)
    decision = stages.get(INCUBATION, {}).get("summary", {}).get("decision", {})
    if decision:
        out.print(f"[bold]Launch decision:[/] [reverse] {str(decision.get('decision', '?')).upper()} [/]")
        for reason in decision.get("reasons", [])[:4]:
            out.print(f"  • {reason}", highlight=False)
    out.print(f"\nReport:    {result['report']}")
    out.print(f"MLflow:    run [cyan]{result['parent_run_id']}[/] in experiment {result['experiment_id']} — open with `make ui` (http://127.0.0.1:5000)")
    out.print("Prefect:   `.venv/bin/prefect server start` then open http://127.0.0.1:4200 (see README)")


def _trend_label(item) -> str:
    if isinstance(item, dict):
        growth = item.get("growth")
        return f"{item.get('unique_id')} ({growth:+.0%})" if isinstance(growth, (int, float)) else str(item.get("unique_id"))
    return str(item)


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
    from launchlab.insight import InsightConfig
    from launchlab.insight.sentiment import describe_sentiment
    from launchlab.runtime import console_progress, prepare_environment

    prepare_environment()
    source = ReviewsInput(
        path=reviews,
        mapping=_mapping(text=text_col, review_id=id_col, rating=rating_col, date=date_col, product=product_col, category=category_col),
        sample=sample,
    )
    with console_progress("embedding reviews") as progress:
        config = InsightConfig(seed=seed, level=level.value, cache_dir=cache_dir)
        result = stages.run_insight(source, config=config, out_dir=out_dir, embedding_model=model, progress=progress)
    _print_warnings(result.result.warnings)
    info = result.inputs["reviews"]
    err.print(_counts_line(str(reviews), info, out_dir), highlight=False)
    needs = result.result.tables["needs"]
    table = Table(title=f"{len(needs)} needs", title_justify="left")
    for column in ("id", "need", "share", "sentiment"):
        table.add_column(column)
    for _, row in needs.head(15).iterrows():
        table.add_row(str(row["need_id"]), str(row["label"]), f"{row['share']:.1%}", f"{row['sentiment_mean']:+.2f}")
    out.print(table)
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
    from launchlab.config import SeriesInput
    from launchlab.trends import TrendsConfig

    inputs = [SeriesInput(path=p, mapping=_mapping(unique_id=id_col, ds=ds_col, y=y_col), layout=layout) for p in series]
    config = TrendsConfig(horizon=horizon, freq=freq, season_length=season_length)
    with _spinner("forecasting"):
        result = stages.run_trends(inputs, config=config, out_dir=out_dir)
    _print_warnings(result.result.warnings)
    for name, info in result.inputs.items():
        err.print(_counts_line(info["path"], info, out_dir), highlight=False)
    table_data = result.result.tables["trends"]
    counts = table_data["class"].value_counts().to_dict()
    out.print("Classes: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    table = Table(title="Fastest rising", title_justify="left")
    for column in ("series", "class", "growth"):
        table.add_column(column)
    for _, row in table_data.sort_values("growth", ascending=False).head(10).iterrows():
        table.add_row(str(row["unique_id"]), str(row["class"]), f"{row['growth']:+.1%}")
    out.print(table)
    out.print(f"Wrote {out_dir / 'forecasts.parquet'} and {out_dir / 'trends.parquet'}")


def _spinner(label: str):
    from contextlib import nullcontext

    return err.status(label) if sys.stderr.isatty() else nullcontext()


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
    from launchlab.runtime import prepare_environment

    prepare_environment()
    with _spinner("scoring concepts"):
        result = stages.run_concepts(
            concepts_file, insight_dir=insight_dir, trends_dir=trends_dir, config=ConceptsConfig(), out_dir=out_dir,
            embedding_model=model, history=history, norms=norms,
        )
    _print_warnings(result.result.warnings)
    err.print(_counts_line(str(concepts_file), result.inputs["concepts"], out_dir), highlight=False)
    scores = result.result.tables["scores"].sort_values("rank")
    table = Table(title="Concept ranking", title_justify="left")
    for column in ("#", "concept", "score", "top needs"):
        table.add_column(column)
    for _, row in scores.iterrows():
        table.add_row(str(row["rank"]), str(row["name"]), f"{row['score']:.0f}", ", ".join(map(str, list(row["top_needs"])[:3])))
    out.print(table)
    out.print(f"Wrote {out_dir / 'scores.parquet'}")


@incubate_app.command("ab")
def incubate_ab(
    data: Annotated[Path, typer.Argument(help="Experiment: one row per unit (or per variant with counts).")],
    variant_col: Annotated[str, typer.Option(help="Column naming the variant of each row.")],
    metric_col: Annotated[str, typer.Option(help="Outcome column (0/1, true/false or a number).")],
    out_dir: OutDir = Path("out/incubation"),
    control: Annotated[Optional[str], typer.Option(help="Control variant (default: 'control' or the first).")] = None,
    unit_col: Annotated[Optional[str], typer.Option(help="Randomisation unit, for duplicate and cross-arm checks.")] = None,
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
    from launchlab import io
    from launchlab.incubation import ABConfig, decide, read_out_ab
    from launchlab.stages import write_outputs

    guardrails = {}
    for item in guardrail or []:
        column, _, direction = item.partition(":")
        if direction not in ("", "higher_is_better", "lower_is_better"):
            raise InputError(f"guardrail {item!r} has an unknown direction", fix="write COLUMN:higher_is_better or COLUMN:lower_is_better")
        guardrails[column] = direction or "higher_is_better"
    required = (variant_col, metric_col, unit_col, covariate_col, date_col, *guardrails, *(funnel_col or []))
    loaded = io.load_experiment(data, required=tuple(c for c in required if c))
    config = ABConfig(
        variant_col=variant_col, metric_col=metric_col, control=control, unit_col=unit_col, alpha=alpha,
        covariate_col=covariate_col, guardrails=guardrails, sequential=sequential, date_col=date_col, funnel_cols=funnel_col or [],
    )
    result = read_out_ab(loaded.frame, config=config, source=str(data))
    decision = decide(result)
    write_outputs(result, out_dir, {"experiment": result.quarantine} if result.quarantine is not None else {})
    _print_warnings(result.warnings)
    readout = result.artifacts["readout.json"]
    err.print(
        f"{data}: {readout.get('rows_in', loaded.rows_in):,} rows in = {readout.get('rows_used', 0):,} used + {readout.get('rows_quarantined', 0):,} quarantined",
        highlight=False,
    )
    table = Table(title=f"{metric_col} by {variant_col} (control: {readout.get('control')})", title_justify="left")
    for column in ("variant", "n", "mean", "lift", "95% CI (abs)", "p"):
        table.add_column(column, justify="right")
    for name, v in readout["variants"].items():
        def f(key: str, spec: str) -> str:
            value = v.get(key)
            return format(value, spec) if isinstance(value, (int, float)) else "—"
        table.add_row(str(name), f("n", ","), f("mean", ".4g"), f("lift_rel", "+.2%"), f"[{f('ci_low', '.4g')}, {f('ci_high', '.4g')}]", f("p_value", ".3g"))
    out.print(table)
    out.print(f"Sample-ratio check p = {readout.get('srm_p_value', float('nan')):.3g}")
    out.print(f"Decision: [bold]{decision['decision'].upper()}[/] — " + "; ".join(decision["reasons"][:3]))
    out.print(f"Wrote {out_dir / 'readout.json'}")


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
    _print_warnings(loaded.warnings + result.warnings)
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
    from launchlab import io
    from launchlab.incubation import BassConfig, fit_bass
    from launchlab.stages import write_outputs

    loaded = io.load_series(series, mapping=_mapping(unique_id=id_col, ds=ds_col, y=y_col), layout=layout)
    result = fit_bass(loaded.frame[["unique_id", "ds", "y"]], config=BassConfig(cumulative=cumulative))
    write_outputs(result, out_dir, {"series": loaded.quarantine, "series_stage": result.quarantine})
    _print_warnings(loaded.warnings + result.warnings)
    err.print(_counts_line(str(series), loaded.counts(), out_dir), highlight=False)
    table = Table(title="Bass fits", title_justify="left")
    for column in ("series", "p", "q", "m", "peak period", "note"):
        table.add_column(column)
    for uid, fit in result.artifacts["bass.json"].items():
        if isinstance(fit, dict):
            table.add_row(str(uid), f"{fit.get('p', float('nan')):.4f}", f"{fit.get('q', float('nan')):.4f}", f"{fit.get('m', float('nan')):,.0f}", str(fit.get("peak_period")), str(fit.get("warning") or ""))
    out.print(table)
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
    from launchlab.runtime import prepare_environment
    from launchlab.stages import STAGES
    from launchlab.tracking import Tracker

    prepare_environment()
    tracker = Tracker(Settings()).connect()
    runs = tracker.recent_cycles(limit=limit)
    if not runs:
        out.print("No launch cycles recorded yet: run `launchlab run`.")
        return
    table = Table(title=f"Launch cycles in {Settings().experiment}", title_justify="left")
    for column in ("started (UTC)", "cycle", "status", "decision", "reviews data", *(stage.folder for stage in STAGES)):
        table.add_column(column)
    for run in runs:
        _, children = tracker.cycle_runs(run.info.run_id)
        durations = {}
        for child in children:
            seconds = ((child.info.end_time or child.info.start_time) - child.info.start_time) / 1000
            durations[child.info.run_name] = f"{seconds:.0f}s" + (" (cached)" if child.data.tags.get("launchlab.cache_hit") == "true" else "")
        started = datetime.fromtimestamp(run.info.start_time / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            started, run.data.tags.get("launchlab.cycle_id", run.info.run_name or ""), run.info.status, run.data.tags.get("decision", "—"),
            run.data.tags.get("data.reviews.sha256", "—")[:10],
            *(durations.get(stage.name, "—") for stage in STAGES),
        )
    out.print(table)


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
    from launchlab.history import diff_cycles
    from launchlab.runtime import prepare_environment
    from launchlab.stages import CONCEPTS, INSIGHT, TRENDS
    from launchlab.tracking import Tracker

    prepare_environment()
    tracker = Tracker(Settings()).connect()
    runs = []
    for ref in (cycle_a, cycle_b):
        run = tracker.find_cycle(ref)
        if run is None:
            raise InputError(f"no launch cycle {ref!r} in the MLflow store", fix="list them with `launchlab cycles`")
        runs.append(run)
    outputs = []
    for run in runs:
        _, children = tracker.cycle_runs(run.info.run_id)
        by_stage = {c.info.run_name: c.info.run_id for c in children}
        read = lambda stage, name: tracker.download_output(by_stage[stage], name) if stage in by_stage else None  # noqa: E731
        models = {k[len("model."):]: v for k, v in run.data.tags.items() if k.startswith("model.")}
        needs = read(INSIGHT, "needs.parquet")
        outputs.append((needs if needs is not None else pd_empty(), read(TRENDS, "trends.parquet"), read(CONCEPTS, "scores.parquet"), models, run.data.tags.get("decision")))
    (na, ta, sa, ma, da), (nb, tb, sb, mb, db) = outputs
    result = diff_cycles((na, nb), (ta, tb), (sa, sb), (ma, mb), (da, db))
    ida, idb = (r.data.tags.get("launchlab.cycle_id", r.info.run_id) for r in runs)
    out.print(f"[bold]{ida}[/] → [bold]{idb}[/]")
    out.print(f"Needs: {len(result.matched_needs)} kept, {len(result.new_needs)} new, {len(result.vanished_needs)} vanished")
    for label in result.new_needs:
        out.print(f"  [green]+ {label}[/]", highlight=False)
    for label in result.vanished_needs:
        out.print(f"  [red]- {label}[/]", highlight=False)
    if len(result.trend_changes):
        out.print(f"Trend class changes: {len(result.trend_changes)}")
        for _, row in result.trend_changes.head(15).iterrows():
            out.print(f"  {row['unique_id']}: {row['class_a']} → {row['class_b']}", highlight=False)
    else:
        out.print("Trend classes: no change")
    if len(result.rank_changes):
        table = Table(title="Concept ranks", title_justify="left")
        for column in ("concept", "rank before", "rank now", "moved"):
            table.add_column(column)
        for _, row in result.rank_changes.iterrows():
            fmt = lambda v: "—" if v != v else f"{v:.0f}"  # noqa: E731
            table.add_row(str(row["name"]), fmt(row["rank_a"]), fmt(row["rank_b"]), fmt(row["moved"]) if row["moved"] == row["moved"] else "new/gone")
        out.print(table)
    for name, (va, vb) in result.model_changes.items():
        out.print(f"Model {name}: version {va or '—'} → {vb or '—'}")
    out.print(f"Decision: {da or '—'} → {db or '—'}")


def pd_empty():
    import pandas as pd

    return pd.DataFrame(columns=["label"])


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
