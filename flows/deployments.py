"""Deployments of launchlab: a weekly full launch cycle and a daily incubation readout.

``serve_deployments`` serves both from this process (Prefect's ``serve``: one machine, needs a
running Prefect server); ``prefect.yaml`` declares the same two for work pools and workers.
Their parameters are the form of :mod:`launchlab.form`, prefilled from the given (or demo) cycle
config with paths relative to the project folder, so the Prefect UI's "Run → Custom run" shows
the few fields a person changes and the stage settings under "advanced". The schedule and its
timezone are written into each deployment's description, where the UI shows them.
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.schedules import Cron

from flows.launch_cycle import DAILY_READOUT, WEEKLY_CYCLE, form_parameters, launch_cycle_form, launch_readout
from launchlab.config import CycleConfig, default_cycle_config, load_cycle_config


def schedule_text(cron: str, timezone: str) -> str:
    """``every Monday at 06:00 (Europe/Paris)`` for the simple crons we use, else the cron itself."""
    days = {"*": "every day", "1": "every Monday", "2": "every Tuesday", "3": "every Wednesday", "4": "every Thursday",
            "5": "every Friday", "6": "every Saturday", "0": "every Sunday", "7": "every Sunday", "1-5": "every weekday"}
    parts = cron.split()
    if len(parts) == 5 and parts[0].isdigit() and parts[1].isdigit() and parts[2] == parts[3] == "*" and parts[4] in days:
        return f"{days[parts[4]]} at {int(parts[1]):02d}:{int(parts[0]):02d} ({timezone})"
    return f"cron '{cron}' ({timezone})"


def build_deployments(
    config: CycleConfig | None = None,
    *,
    timezone: str = "UTC",
    weekly_cron: str = "0 6 * * 1",
    daily_cron: str = "0 7 * * *",
):
    """The two deployments, with schedules in ``timezone`` and ``config`` as the form's defaults."""
    parameters = form_parameters(config or default_cycle_config())
    weekly = launch_cycle_form.to_deployment(
        name=WEEKLY_CYCLE,
        schedules=[Cron(weekly_cron, timezone=timezone)],
        parameters=parameters,
        description=f"Full launch cycle, {schedule_text(weekly_cron, timezone)}: insight → trends → concepts → incubation, "
        "one MLflow parent run named after the flow run. Run → Custom run: change the reviews, sample, concepts, launch data "
        "or horizon; a run with changed settings does not promote models unless you ask it to.",
        tags=["launchlab", "cycle", f"tz:{timezone}"],
    )
    daily = launch_readout.to_deployment(
        name=DAILY_READOUT,
        schedules=[Cron(daily_cron, timezone=timezone)],
        parameters=parameters,
        description=f"Readout of the running launch, {schedule_text(daily_cron, timezone)}: launch test and adoption curve "
        "read out again, scale / iterate / stop; a day without new data reuses the last readout.",
        tags=["launchlab", "incubation", f"tz:{timezone}"],
    )
    return [weekly, daily]


def serve_deployments(
    config_path: Path | None = None, *, timezone: str = "UTC", weekly_cron: str = "0 6 * * 1", daily_cron: str = "0 7 * * *"
) -> None:
    """Serve both deployments until interrupted; their schedules stay active when it stops."""
    config = load_cycle_config(config_path) if config_path else default_cycle_config()
    serve(
        *build_deployments(config, timezone=timezone, weekly_cron=weekly_cron, daily_cron=daily_cron),
        pause_on_shutdown=False,
    )
