"""Deployments of launchlab: a weekly full launch cycle and a daily incubation readout.

``serve_deployments`` serves both from this process (Prefect's ``serve``: one machine, needs a
running Prefect server); ``prefect.yaml`` declares the same two for work pools and workers.
The cycle config is the deployments' typed parameter, prefilled with the given (or demo)
config, so the Prefect UI's "Run" button shows it as a form.
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.schedules import Cron

from flows.launch_cycle import incubation_flow, launch_cycle
from launchlab.config import CycleConfig, default_cycle_config, load_cycle_config

WEEKLY_CYCLE = "weekly-launch-cycle"
DAILY_READOUT = "daily-incubation-readout"


def build_deployments(
    config: CycleConfig | None = None,
    *,
    timezone: str = "UTC",
    weekly_cron: str = "0 6 * * 1",
    daily_cron: str = "0 7 * * *",
):
    """The two deployments, with schedules in ``timezone`` and ``config`` as default parameters."""
    config = config or default_cycle_config()
    parameters = {"config": config.model_dump(mode="json")}
    weekly = launch_cycle.to_deployment(
        name=WEEKLY_CYCLE,
        schedules=[Cron(weekly_cron, timezone=timezone)],
        parameters=parameters,
        description="Full launch cycle: insight → trends → concepts → incubation, one MLflow parent run.",
        tags=["launchlab", "cycle"],
    )
    daily = incubation_flow.to_deployment(
        name=DAILY_READOUT,
        schedules=[Cron(daily_cron, timezone=timezone)],
        parameters=parameters,
        description="Post-launch readout of the running experiment: A/B test, adoption curve, decision.",
        tags=["launchlab", "incubation"],
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
