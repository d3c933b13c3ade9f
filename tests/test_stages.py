"""The stage table decides what a change invalidates: changing any input file or any setting of
the cycle config changes the fingerprint of the stage that declares it and of every stage after
it, and of no stage before it. The loop walks every leaf of the config, so a setting added to
the config without being declared by a stage fails here instead of leaving a stale cache."""

from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import BaseModel, ValidationError

from launchlab import stages
from launchlab.config import CycleConfig

# Settings that change no stage's output: the cycle's display name, the data notes the report
# shows, and its output folder (part of the stage cache key next to the fingerprint, see
# flows/launch_cycle.py).
NOT_STAGE_INPUTS = {"name", "data_notes", "out_dir"}

# What a change to each stage invalidates, written out apart from the stage table: trends reads
# the insight stage's reviews, concepts reads its needs and reviews and the trend classes, and
# incubation reads no earlier stage.
AFTER = {
    "01-insight": ("01-insight", "02-trends", "03-concepts"),
    "02-trends": ("02-trends", "03-concepts"),
    "03-concepts": ("03-concepts",),
    "04-incubation": ("04-incubation",),
}


def _config(repo: Path, tmp_path: Path) -> CycleConfig:
    """A cycle with every optional input given, its files small copies that the test may change."""
    reviews = pd.read_parquet(repo / "data" / "womens_clothing_reviews.parquet").head(40)
    reviews.to_parquet(tmp_path / "reviews.parquet")
    pd.read_csv(repo / "data" / "uci_sales_weekly.csv").head(5).to_csv(tmp_path / "sales.csv", index=False)
    (tmp_path / "concepts.yaml").write_text((repo / "data" / "concepts.yaml").read_text())
    pd.DataFrame({"name": ["a", "b"], "description": ["x", "y"], "outcome": [1, 0]}).to_csv(tmp_path / "history.csv", index=False)
    pd.DataFrame({"concept_id": ["c"], "score": [50.0]}).to_parquet(tmp_path / "norms.parquet")
    pd.read_csv(repo / "data" / "launch_experiment.csv").head(200).to_csv(tmp_path / "experiment.csv", index=False)
    (tmp_path / "adoption.csv").write_text((repo / "data" / "ibm_mainframe_generations.csv").read_text())
    return CycleConfig.model_validate(
        {
            "reviews": {"path": tmp_path / "reviews.parquet", "sample": 30},
            "series": [{"path": tmp_path / "sales.csv"}],
            "concepts": tmp_path / "concepts.yaml",
            "concept_history": tmp_path / "history.csv",
            "concept_norms": tmp_path / "norms.parquet",
            "experiment": {
                "path": tmp_path / "experiment.csv",
                "ab": {"variant_col": "variant", "metric_col": "converted"},
                "segments": {"segment_cols": ["channel", "petite"], "bands": {"recency_days": [7, 30]}},
                "uplift": {"covariate_cols": ["channel", "recency_days"], "n_folds": 2},
            },
            "adoption": {"path": tmp_path / "adoption.csv"},
            "plan": {"economics": {"price": 118, "unit_cost": 38, "salvage": 20}},
            "embedding_model": "hashing-64",
            "out_dir": tmp_path / "out",
        }
    )


def _fingerprints(config: CycleConfig) -> dict[str, str]:
    return {name: stages.stage_fingerprint(name, config) for name in stages.STAGE_NAMES}


def _changed(before: dict[str, str], after: dict[str, str]) -> tuple[str, ...]:
    return tuple(name for name in stages.STAGE_NAMES if before[name] != after[name])


def _files(config: CycleConfig) -> dict[str, tuple[str, Path]]:
    """Every declared input or state file: config path → (declaring stage, file)."""
    found = {}
    for stage in stages.STAGES:
        declared = stage.inputs(config)
        for key, path in {**declared.files, **declared.state}.items():
            found[key] = (stage.name, Path(path))
    return found


def _readers(config: CycleConfig, leaf: str) -> set[str]:
    """The stages whose declared settings hold config leaf ``leaf`` (a dotted path)."""
    return {stage.name for stage in stages.STAGES for key in stage.inputs(config).settings if leaf == key or leaf.startswith(key + ".")}


def _after(names: set[str]) -> tuple[str, ...]:
    """The stages in ``names`` and every stage after them, in cycle order."""
    found = {later for name in names for later in AFTER[name]}
    return tuple(name for name in stages.STAGE_NAMES if name in found)


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{prefix}{key}.").items()}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): value}


def _unwrap(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _annotation(path: str) -> Any:
    """The type annotation of a config leaf, Optional unwrapped."""
    annotation: Any = CycleConfig
    for part in path.split("."):
        if typing.get_origin(annotation) in (list, tuple):
            annotation = typing.get_args(annotation)[0]
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            annotation = annotation.model_fields[part].annotation
        annotation = _unwrap(annotation)
    return annotation


# Strings some settings accept (they are checked by validators, not by their type).
WORDS = ["changed", "mention", "review", "stars", "default", "lexicon", "W", "MS"]


def _example(annotation: Any) -> Any:
    """A value of type ``annotation``."""
    annotation = _unwrap(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return args[0]
    if origin is dict:
        return {"changed": _example(args[1])}
    if origin in (list, tuple):
        return [_example(args[0])]
    return {bool: True, int: 3, float: 0.5}.get(annotation, "changed")


def _candidates(path: str, value: Any) -> list[Any]:
    """Other values a leaf may take, most likely valid first."""
    annotation = _annotation(path)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return [choice for choice in args if choice != value]
    if value is None:
        return [_example(annotation), *WORDS] if annotation in (str, Path) else [_example(annotation), 10, 100, 1, 0.1]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, value * 2]
    if isinstance(value, float):
        return [value * 1.1, value / 2, value + 0.01, 0.5]
    if isinstance(value, str):
        return [value + "-changed", *(w for w in WORDS if w != value)]
    if isinstance(value, dict):
        return [{**value, "changed": _example(args[1])}]
    if isinstance(value, list):
        return [value[:-1], [_example(args[0]), *value], list(reversed(value))] if value else [[_example(args[0])]]
    raise AssertionError(f"{path}: no candidates for {value!r}")


def _get(dump: dict, path: str) -> Any:
    node: Any = dump
    for part in path.split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node


def _with_leaf(dump: dict, path: str, value: Any) -> dict:
    out = copy.deepcopy(dump)
    parts = path.split(".")
    node: Any = out
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(parts[-1]) if parts[-1].isdigit() else parts[-1]] = value
    return out


def test_every_setting_invalidates_its_stage_and_the_ones_after_it(repo, tmp_path):
    config = _config(repo, tmp_path)
    before = _fingerprints(config)
    dump = config.model_dump(mode="json")
    files = _files(config)
    tried = {}
    for leaf, value in _leaves(dump).items():
        if leaf in files:
            continue  # a file's path is not what its stage depends on: its content is (next test)
        for candidate in _candidates(leaf, value):
            try:
                changed = CycleConfig.model_validate(_with_leaf(dump, leaf, candidate))
            except ValidationError:
                continue
            if _get(changed.model_dump(mode="json"), leaf) != value:
                break
        else:
            raise AssertionError(f"no valid other value found for setting {leaf} = {value!r}")
        readers = _readers(config, leaf)
        expected = () if leaf in NOT_STAGE_INPUTS else _after(readers) if readers else ("a stage declaring it",)
        tried[leaf] = _changed(before, _fingerprints(changed))
        assert tried[leaf] == expected, f"changing {leaf} to {candidate!r} changed {tried[leaf]}, expected {expected}"
    # the loop really walked the settings of every stage
    assert {stage for leaf in tried for stage in _readers(config, leaf)} == set(stages.STAGE_NAMES)
    assert {"trends.horizon", "insight.level", "scoring.n_bootstrap", "bass.n_bootstrap", "experiment.ab.alpha", "reviews.sample",
            "series.0.layout", "embedding_model", "experiment.segments.segment_cols", "experiment.uplift.target_share",
            "plan.demand.horizon", "plan.economics.price"} <= set(tried)


def test_every_input_file_invalidates_its_stage_and_the_ones_after_it(repo, tmp_path):
    config = _config(repo, tmp_path)
    files = _files(config)
    assert set(files) == {"reviews.path", "series.0.path", "concepts", "concept_history", "concept_norms", "experiment.path",
                          "adoption.path"}
    for key, (stage, path) in files.items():
        before = _fingerprints(config)
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert _changed(before, _fingerprints(config)) == AFTER[stage], key
        # a file's path is not part of the fingerprint: the same content elsewhere changes nothing
        moved = path.with_name("moved-" + path.name)
        moved.write_bytes(original)
        path.write_bytes(original)
        relocated = CycleConfig.model_validate(_with_leaf(config.model_dump(mode="json"), key, str(moved)))
        assert _fingerprints(relocated) == before, key


def test_concept_norms_count_once_they_exist(repo, tmp_path):
    """The norms file is written by the concepts stage itself: a cycle may start without it."""
    config = _config(repo, tmp_path)
    before = _fingerprints(config)
    config.concept_norms.unlink()
    assert _changed(before, _fingerprints(config)) == AFTER[stages.CONCEPTS]


def test_the_table_is_in_cycle_order_and_each_stage_reads_only_earlier_ones():
    names = stages.STAGE_NAMES
    assert names == ("01-insight", "02-trends", "03-concepts", "04-incubation")
    for i, stage in enumerate(stages.STAGES):
        assert set(stage.upstream) <= set(names[:i]), stage.name
    assert {name: stages.downstream(name) for name in names} == AFTER
    with pytest.raises(ValueError, match="unknown stage"):
        stages.get_stage("05-nothing")


def test_run_stage_runs_a_stage_from_the_cycle_config_into_its_folder(repo, tmp_path):
    config = _config(repo, tmp_path)
    run = stages.run_stage(stages.INCUBATION, config)
    assert run.out_dir == stages.cycle_paths(config)[stages.INCUBATION] == tmp_path / "out" / "incubation"
    assert (run.out_dir / "readout.json").exists() and (run.out_dir / "bass.json").exists()
    assert set(run.inputs) == {"experiment", "adoption"}


def test_models_are_sklearn_estimators_with_a_champion_metric_each():
    from launchlab.stages import CHAMPION_METRICS

    assert set(CHAMPION_METRICS) == {
        "launchlab-needs", "launchlab-sentiment", "launchlab-forecaster", "launchlab-concept-scorer", "launchlab-adoption",
        "launchlab-uplift",
    }
    assert CHAMPION_METRICS["launchlab-forecaster"][:2] == ("backtest_mase", False)
    assert CHAMPION_METRICS["launchlab-uplift"][:2] == ("uplift_qini_coefficient", True)


def test_stage_4_is_skipped_before_launch_and_runs_once_launch_data_is_named(repo, tmp_path):
    config = _config(repo, tmp_path)
    incubation = stages.get_stage(stages.INCUBATION)
    assert incubation.skip(config) is None
    assert incubation.skip(config.model_copy(update={"experiment": None})) is None  # adoption alone is launch data
    assert incubation.skip(config.model_copy(update={"adoption": None})) is None
    before_launch = config.model_copy(update={"experiment": None, "adoption": None})
    assert incubation.skip(before_launch).startswith("not launched yet")
    assert all(stage.skip is None for stage in stages.STAGES if stage.name != stages.INCUBATION)

    # a skipped stage leaves a record saying so, and no outputs of an earlier launched cycle
    run = stages.run_stage(stages.INCUBATION, config)
    assert (run.out_dir / "readout.json").exists()
    stages.write_stage_record(run, "f1", "run-1")
    record = stages.skip_stage(stages.INCUBATION, before_launch, incubation.skip(before_launch), "f0", "run-2")
    assert sorted(p.name for p in run.out_dir.rglob("*") if p.is_file()) == ["_stage.json"]
    assert stages.read_stage_record(run.out_dir) == record and record["skipped"].startswith("not launched yet")
    assert stages.cycle_decision({stages.INCUBATION: record}) == {"decision": "pre-launch: concepts ranked", "reasons": [record["skipped"]]}
    launched = {stages.INCUBATION: {"summary": {"decision": {"decision": "scale", "reasons": ["r"]}}}}
    assert stages.cycle_decision(launched) == {"decision": "scale", "reasons": ["r"]}
    assert stages.cycle_decision({}) == {}
