"""A pre-launch cycle (reviews, series and concepts, no experiment or adoption yet) completes from
the command line: stage 4 is recorded as skipped, the decision reads "pre-launch: concepts
ranked", and stage 4 runs as soon as the config names launch data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from launchlab.config import Settings
from launchlab.stages import STAGE_NAMES
from launchlab.tracking import Tracker

PRE_LAUNCH = "pre-launch: concepts ranked"


@pytest.mark.slow
def test_a_pre_launch_cycle_completes_with_stage_4_skipped_then_runs_it_once_launched(isolated_store, cli, small_cycle):
    config = small_cycle.config(isolated_store, "prelaunch", experiment=False, adoption=False)
    path = isolated_store / "prelaunch.yaml"
    path.write_text(yaml.safe_dump(config))

    code, out, err = cli("run", "--config", path)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err and "InputError" not in err
    assert f"Launch decision: {PRE_LAUNCH}" in " ".join(out.split())
    assert "Concept ranking" in out

    tracker = Tracker(Settings()).connect()
    parent = tracker.recent_cycles(limit=1)[0]
    assert parent.info.status == "FINISHED" and parent.data.tags["decision"] == PRE_LAUNCH
    _, children = tracker.cycle_runs(parent.info.run_id)
    assert [c.info.run_name for c in children] == list(STAGE_NAMES)
    assert all(c.info.status == "FINISHED" for c in children)
    incubation = children[3]
    assert incubation.data.tags["launchlab.skipped"].startswith("not launched yet")
    assert incubation.data.metrics == {} and not any(k.startswith("model.") for k in incubation.data.tags)
    assert not any("launchlab.skipped" in c.data.tags for c in children[:3])
    assert children[2].data.metrics["n_concepts"] >= 8  # the concepts were ranked
    report = (Path(config["out_dir"]) / "report.html").read_text()
    assert PRE_LAUNCH in report and "runs as soon as the cycle config names a launch experiment" in report

    # launch data named: stage 4 runs, the stages before it are reused
    launched = small_cycle.config(isolated_store, "prelaunch")
    path.write_text(yaml.safe_dump(launched))
    code, out, err = cli("run", "--config", path)
    assert code == 0, err[-3000:]
    parent = tracker.recent_cycles(limit=1)[0]
    _, children = tracker.cycle_runs(parent.info.run_id)
    assert {c.info.run_name: c.data.tags["launchlab.cache_hit"] for c in children} == {
        "01-insight": "true", "02-trends": "true", "03-concepts": "true", "04-incubation": "false"
    }
    assert "launchlab.skipped" not in children[3].data.tags and any(k.startswith("ab_") for k in children[3].data.metrics)
    readout = json.loads((Path(launched["out_dir"]) / "incubation" / "readout.json").read_text())
    assert parent.data.tags["decision"] == readout["decision"] != PRE_LAUNCH
    assert f"Launch decision: {readout['decision'].upper()}" in " ".join(out.split())
    assert PRE_LAUNCH not in (Path(launched["out_dir"]) / "report.html").read_text()
