"""Same inputs and seed → byte-identical output files, across processes.

All four stages run (hashing embedder, small bundled data) in two fresh interpreters with
different ``PYTHONHASHSEED`` (so set/dict ordering of strings differs) and different output
folders; every table (Parquet), JSON artifact and quarantine CSV must match byte for byte.
What legitimately varies is only outside these files: the report's "Generated" timestamp,
MLflow run ids and the absolute paths recorded as input tags.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = r"""
import sys
from pathlib import Path

import pandas as pd

from launchlab import stages
from launchlab.concepts import ConceptsConfig
from launchlab.config import ExperimentInput, ReviewsInput, SeriesInput
from launchlab.incubation import BassConfig
from launchlab.insight import InsightConfig
from launchlab.trends import TrendsConfig

data, inputs, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
reviews = pd.read_parquet(data / "womens_clothing_reviews.parquet").head(400)
reviews.loc[3, "Review Text"] = None  # one quarantined row
reviews.to_parquet(out / "reviews_in.parquet")
insight = stages.run_insight(
    ReviewsInput(path=out / "reviews_in.parquet", sample=300), config=InsightConfig(seed=7), out_dir=out / "insight", embedding_model="hashing-128"
)
series = inputs / "weekly.csv"
trends = stages.run_trends(
    [SeriesInput(path=series)], config=TrendsConfig(horizon=4), out_dir=out / "trends", insight_reviews=insight.result.tables["reviews"]
)
stages.run_concepts(
    data / "concepts.yaml", insight_dir=out / "insight", trends_dir=out / "trends", config=ConceptsConfig(), out_dir=out / "concepts",
    embedding_model="hashing-128",
)
stages.run_incubation(
    ExperimentInput.model_validate({"path": data / "launch_experiment.csv", "ab": {"variant_col": "variant", "metric_col": "converted", "unit_col": "user_id"}}),
    adoption=SeriesInput(path=data / "ibm_mainframe_generations.csv"), bass_config=BassConfig(), out_dir=out / "incubation",
)
"""


def _run(repo: Path, inputs: Path, out: Path, hash_seed: str) -> subprocess.Popen:
    out.mkdir(parents=True)
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(repo / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(repo / "data"), str(inputs), str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out,
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "reviews_in.parquet"}


def test_two_processes_write_byte_identical_outputs(repo, tmp_path):
    weekly = pd.read_csv(repo / "data" / "uci_sales_weekly.csv").head(25)
    weekly["W3"] = weekly["W3"].astype(object)
    weekly.loc[2, "W3"] = "n/a"  # one quarantined value
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    weekly.to_csv(inputs / "weekly.csv", index=False)
    runs = [_run(repo, inputs, tmp_path / name, seed) for name, seed in (("a", "1"), ("b", "2024"))]
    for proc in runs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    expected = {
        "insight/needs.parquet", "insight/reviews.parquet", "insight/quarantine/reviews.csv",
        "trends/forecasts.parquet", "trends/trends.parquet", "trends/backtest.parquet", "trends/quarantine/series_weekly.csv",
        "concepts/scores.parquet", "incubation/readout.json", "incubation/bass.json", "incubation/decision.json",
    }
    assert expected <= set(a), sorted(set(a))
    assert set(a) == set(b)
    differing = sorted(name for name in a if a[name] != b[name])
    assert not differing, f"outputs differ between two runs with the same seed: {differing}"


@pytest.mark.parametrize("seed", [1, 2])
def test_same_seed_twice_in_one_process_gives_identical_tables_and_metrics(seed):
    from launchlab.embeddings import HashingEmbedder
    from launchlab.insight import InsightConfig, discover_needs

    reviews = pd.read_parquet(Path(__file__).parents[2] / "data" / "womens_clothing_reviews.parquet").head(300)
    reviews = reviews.rename(columns={"Review Text": "text"}).dropna(subset=["text"]).reset_index(drop=True)
    reviews["review_id"] = [f"r{i}" for i in range(len(reviews))]
    first = discover_needs(reviews[["review_id", "text"]], embedder=HashingEmbedder(64), config=InsightConfig(seed=seed))
    second = discover_needs(reviews[["review_id", "text"]], embedder=HashingEmbedder(64), config=InsightConfig(seed=seed))
    for name in first.tables:
        pd.testing.assert_frame_equal(first.tables[name], second.tables[name], check_exact=True)
    assert first.metrics == second.metrics
