"""The deployment form keeps what the cycle config asks of stage 4 after launch: whom to target
(segments, uplift) and how many to make (the production plan)."""

from __future__ import annotations

from pathlib import Path

from launchlab.config import DEMO_CONFIG, CycleConfig
from launchlab.form import form_from_config


def test_the_form_round_trips_targeting_and_the_production_plan(tmp_path):
    config = CycleConfig.model_validate(DEMO_CONFIG).resolve(tmp_path)
    form = form_from_config(config, tmp_path)
    assert form.advanced.uplift.covariate_cols == ["channel", "past_buyer", "recency_days", "petite", "pre_sessions"]
    back = form.to_config(tmp_path, "weekly")
    assert back.experiment.segments == config.experiment.segments and back.experiment.uplift == config.experiment.uplift
    assert back.plan == config.plan and back.plan.economics.price == 118
    # a trial that clears the targeting fields reads the test out and ranks nobody
    trial = form.model_copy(update={"advanced": form.advanced.model_copy(update={"segments": None, "uplift": None})})
    cleared = trial.to_config(tmp_path, "trial").experiment
    assert cleared.segments is None and cleared.uplift is None and cleared.path == config.experiment.path


def test_the_form_a_person_reads_has_no_docstring_markup():
    # Prefect shows every setting's description in the custom-run form: a class docstring with
    # Sphinx roles or literals reaches it as raw markup.
    import re

    from prefect.utilities.callables import parameter_schema

    from flows.launch_cycle import launch_cycle_form, launch_readout

    markup = re.compile(r":(func|class|data|meth|mod):`|``")
    for flow in (launch_cycle_form, launch_readout):
        schema = parameter_schema(flow).model_dump()
        shown = [schema["properties"], *schema["definitions"].values()]
        assert not [text for text in map(str, shown) if markup.search(text)], flow.name
