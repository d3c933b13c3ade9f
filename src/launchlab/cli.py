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
from launchlab.cli_common import OutDir, mapping, series_input
from launchlab.cli_incubate import incubate_app
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
app.add_typer(incubate_app, name="incubate")


class Level(str, Enum):
    """Unit of need discovery."""

    mention = "mention"
    review = "review"


Model = Annotated[str, typer.Option("--model", help="Embedding model: a local model folder or all-MiniLM-L6-v2 (shipped offline); a suffix @torch, @onnx or @onnx-int8 picks the backend (all-MiniLM-L6-v2 runs on fp32 onnx by default).")]


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
        mapping=mapping(text=text_col, review_id=id_col, rating=rating_col, date=date_col, product=product_col, category=category_col),
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

    inputs = [series_input(p, mapping(unique_id=id_col, ds=ds_col, y=y_col), layout) for p in series]
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
