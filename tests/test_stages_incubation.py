"""Stage 4 with incubation marketing: the cycle's stage writes whom to target and how many to
make, computed by the same library calls a user would make on the rows the readout kept; without
customer columns it reads out the test and says why nobody is targeted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launchlab import stages
from launchlab.config import CycleConfig
from launchlab.errors import InputError
from launchlab.incubation import (DemandConfig, PlanConfig, SegmentConfig, UpliftConfig, estimate_segments, fit_uplift,
                                  forecast_demand, plan_production)

REPO = Path(__file__).resolve().parents[1]
SEGMENTS = {"segment_cols": ["channel", "petite", "recency_days"], "bands": {"recency_days": [7, 30, 90]}}
UPLIFT = {"covariate_cols": ["channel", "past_buyer", "recency_days", "petite", "pre_sessions"], "n_folds": 3,
          "n_bootstrap": 100}
ECONOMICS = {"price": 118, "unit_cost": 38, "salvage": 20}


def _config(repo, tmp_path, *, segments=SEGMENTS, uplift=UPLIFT, economics=ECONOMICS, adoption=True) -> CycleConfig:
    experiment = {"path": repo / "data" / "launch_experiment.csv",
                  "ab": {"variant_col": "variant", "metric_col": "converted", "control": "control", "unit_col": "user_id"}}
    if segments is not None:
        experiment["segments"] = segments
    if uplift is not None:
        experiment["uplift"] = uplift
    return CycleConfig.model_validate({
        "reviews": {"path": "unused.csv"}, "concepts": "unused.yaml", "out_dir": tmp_path / "out",
        "experiment": experiment,
        "adoption": {"path": repo / "data" / "launch_adoption_weekly.csv"} if adoption else None,
        "plan": {"demand": {"horizon": 8, "n_bootstrap": 200}, "economics": economics},
    })


def _kept_rows(path) -> pd.DataFrame:
    """The demo experiment without its logging faults, found apart from the readout: visitors in
    both arms are dropped, a visitor logged twice in one arm keeps the first row."""
    data = pd.read_csv(path)
    arms = data.groupby("user_id")["variant"].nunique()
    data = data[data["user_id"].map(arms) == 1]
    return data.drop_duplicates(["user_id", "variant"], keep="first").reset_index(drop=True)


@pytest.fixture(scope="module")
def demo_stage(tmp_path_factory):
    config = _config(REPO, tmp_path_factory.mktemp("stage4"))
    return config, stages.run_stage(stages.INCUBATION, config)


def test_stage_4_writes_whom_to_target_and_how_many_to_make(demo_stage):
    config, run = demo_stage
    names = {p.name for p in run.out_dir.iterdir() if p.is_file()}
    assert {"segments.parquet", "heterogeneity.parquet", "segments.json", "uplift_curve.parquet", "uplift_targeting.parquet",
            "uplift.json", "demand_forecast.parquet", "demand.json", "plan.json", "readout.json", "decision.json"} <= names
    assert "launchlab-uplift" in run.result.models and "launchlab-adoption" in run.result.models
    headlines = run.result.summary["headlines"]
    assert set(headlines) == {"whom_to_target", "expected_gain", "how_many_to_make"}
    # the simulated page works best for petite shoppers: the stage says so, with the interval
    assert "petite = 1" in headlines["whom_to_target"] and "CI" in headlines["whom_to_target"]
    assert headlines["expected_gain"].startswith("Treat the top 30% of customers") and "95% CI" in headlines["expected_gain"]
    assert headlines["how_many_to_make"].startswith("Make ") and "stock-out probability" in headlines["how_many_to_make"]
    # the numbers the cycle's child run logs and its champion metric
    metrics = run.result.metrics
    assert {"uplift_qini_coefficient", "segments_tested", "plan_stock", "plan_stockout_probability"} <= set(metrics)
    assert metrics["segments_rows_in"] == metrics["ab_rows_used"] == 19_970


def test_stage_outputs_agree_with_direct_library_calls_on_the_rows_the_readout_kept(repo, demo_stage):
    config, run = demo_stage
    kept = _kept_rows(config.experiment.path)
    columns = {"variant_col": "variant", "metric_col": "converted", "control": "control"}

    direct = estimate_segments(kept, config=SegmentConfig(**columns, **SEGMENTS))
    written = pd.read_parquet(run.out_dir / "segments.parquet")
    pd.testing.assert_frame_equal(written, direct.tables["segments"].reset_index(drop=True), check_dtype=False)
    assert json.loads((run.out_dir / "segments.json").read_text())["treatments"]["treatment"]["findings"] == \
        direct.artifacts["segments.json"]["treatments"]["treatment"]["findings"]

    uplift = fit_uplift(kept, config=UpliftConfig(**columns, **UPLIFT))
    assert run.result.metrics["uplift_qini_coefficient"] == pytest.approx(uplift.metrics["qini_coefficient"], rel=1e-9)
    pd.testing.assert_frame_equal(pd.read_parquet(run.out_dir / "uplift_targeting.parquet"), uplift.tables["uplift_targeting"],
                                  check_dtype=False)
    X = kept[UPLIFT["covariate_cols"]].iloc[:200]
    np.testing.assert_allclose(run.result.models["launchlab-uplift"].predict(X), uplift.models["launchlab-uplift"].predict(X))

    series = pd.read_csv(config.adoption.path)
    demand = forecast_demand(series, config=DemandConfig(horizon=8, n_bootstrap=200))
    assert json.loads((run.out_dir / "demand.json").read_text()) == json.loads(json.dumps(demand.artifacts["demand.json"]))
    plan = plan_production(demand.tables["demand_samples"]["demand"].to_numpy(), config=PlanConfig(**ECONOMICS))
    written_plan = json.loads((run.out_dir / "plan.json").read_text())["true-petite-midi-dress"]
    assert {k: written_plan[k] for k in plan} == pytest.approx(plan)
    assert written_plan["economics"] == "given" and written_plan["from_ds"] == "2026-07-13"


def test_an_experiment_without_customer_columns_is_read_out_and_says_why_nobody_is_targeted(repo, tmp_path):
    config = _config(repo, tmp_path, segments=None, uplift=None, economics=None)
    run = stages.run_stage(stages.INCUBATION, config)
    names = {p.name for p in run.out_dir.iterdir()}
    assert "readout.json" in names and not names & {"segments.json", "uplift.json", "segments.parquet"}
    assert "launchlab-uplift" not in run.result.models
    headlines = run.result.summary["headlines"]
    assert headlines["whom_to_target"].startswith("Not analysed") and "experiment.segments" in headlines["whom_to_target"]
    assert headlines["expected_gain"].startswith("Not estimated") and "experiment.uplift" in headlines["expected_gain"]
    # economics not given: the plan is still made, and says its prices are assumed
    assert "economics assumed" in headlines["how_many_to_make"]
    assert json.loads((run.out_dir / "plan.json").read_text())["true-petite-midi-dress"]["economics"] == "assumed"


def test_a_readout_alone_plans_nothing(repo, tmp_path):
    run = stages.run_stage(stages.INCUBATION, _config(repo, tmp_path, segments=None, uplift=None, adoption=False))
    assert set(run.result.summary["headlines"]) == {"whom_to_target", "expected_gain"}
    assert not (run.out_dir / "plan.json").exists()


def test_a_declared_customer_column_missing_from_the_file_is_one_clear_error(repo, tmp_path):
    config = _config(repo, tmp_path, segments={"segment_cols": ["loyalty_tier"]}, uplift=None, adoption=False)
    with pytest.raises(InputError, match="column 'loyalty_tier'") as caught:
        stages.run_stage(stages.INCUBATION, config)
    assert "launch_experiment.csv" in str(caught.value) and "\n" not in str(caught.value)


def test_pre_launch_still_skips_with_targeting_and_plan_configured(repo, tmp_path):
    config = _config(repo, tmp_path).model_copy(update={"experiment": None, "adoption": None})
    stage = stages.get_stage(stages.INCUBATION)
    assert stage.skip(config).startswith("not launched yet")
    record = stages.skip_stage(stages.INCUBATION, config, stage.skip(config), "f", None)
    assert stages.cycle_decision({stages.INCUBATION: record})["decision"] == stages.PRE_LAUNCH


def test_the_report_says_whom_to_target_and_how_many_to_make_with_plots_and_labels_simulated_data(demo_stage):
    from launchlab.report import build_report

    config, run = demo_stage
    stages.write_stage_record(run, "fingerprint", None)  # what a cycle writes after the stage, and the report reads
    note = "The launch experiment (data/launch_experiment.csv) is simulated by a seeded script; no customer in it is real."
    html = build_report(config.model_copy(update={"data_notes": [note]})).read_text()
    # the answers open the report, then come again with their evidence in the stage's section
    assert html.index("What to do and why") < html.index("Whom to target:") < html.index("Launch readout — ")
    section = html[html.index("Launch readout — "):]
    assert section.index("About this data") < section.index(note) < section.index("Whom to target")
    assert section.index("Whom to target") < section.index("Expected gain") < section.index("How many to make")
    headlines = run.result.summary["headlines"]
    for key in ("whom_to_target", "expected_gain", "how_many_to_make"):
        assert headlines[key].split(":")[0] in section
    # adoption curve, segment lifts, Qini curve, demand fan chart
    assert section.count("data:image/png;base64,") == 4
