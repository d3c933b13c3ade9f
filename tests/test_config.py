"""Settings and cycle configs: defaults inside the project, overrides, valid and invalid YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from launchlab.config import DEMO_CONFIG, CycleConfig, Settings, default_cycle_config, load_cycle_config
from launchlab.errors import InputError


def test_default_settings_keep_everything_in_the_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.tracking_uri == "sqlite:///mlruns/mlflow.db"
    assert settings.resolved_tracking_uri() == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert settings.resolved_artifact_root() == (tmp_path / "mlruns").as_uri()
    assert settings.experiment == "launch-cycles" and settings.prefect_home == ".prefect"


def test_settings_from_environment_and_env_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_EXPERIMENT", "from-env")
    (tmp_path / "launchlab.env").write_text("LAUNCHLAB_TRACKING_URI=sqlite:////data/store.db\n")
    settings = Settings()
    assert settings.experiment == "from-env"
    assert settings.resolved_tracking_uri() == "sqlite:////data/store.db"


def test_demo_config_points_at_bundled_files(repo):
    config = default_cycle_config(repo)
    for path in (config.reviews.path, config.concepts, config.experiment.path, config.adoption.path, *[s.path for s in config.series]):
        assert Path(path).exists(), path


def test_yaml_config_resolves_paths_from_its_folder(tmp_path):
    doc = dict(DEMO_CONFIG, name="mine")
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "cycle.yaml"
    path.write_text(yaml.safe_dump(doc))
    config = load_cycle_config(path)
    assert config.reviews.path == tmp_path / "sub" / "data" / "womens_clothing_reviews_dated.parquet"
    assert config.name == "mine"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("name: [unclosed", "not valid YAML at line"),
        ("- just\n- a list\n", "must be a mapping"),
        ("name: x\nconcepts: c.yaml\n", "reviews"),
        ("name: x\nreviews: {path: r.csv}\nconcepts: c.yaml\nbogus: 1\n", "bogus"),
        ("name: x\nreviews: {path: r.csv, sample: 2}\nconcepts: c.yaml\n", "reviews.sample"),
    ],
)
def test_invalid_configs_are_one_line_errors(tmp_path, text, fragment):
    path = tmp_path / "cycle.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_cycle_config(path)
    assert fragment in str(err.value) and "cycle.yaml" in str(err.value) and "\n" not in str(err.value)


def test_cycle_config_json_schema_renders_as_a_form():
    schema = CycleConfig.model_json_schema()
    assert {"reviews", "concepts", "series", "experiment", "insight", "trends", "scoring"} <= set(schema["properties"])
    with pytest.raises(ValueError):
        CycleConfig.model_validate(dict(DEMO_CONFIG, name="a/b"))
