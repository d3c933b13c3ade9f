"""Test-wide isolation: Prefect, MLflow and Hugging Face never touch the user's or the repo's stores."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

# Set before any test module imports prefect or mlflow.
_HOME = Path(tempfile.mkdtemp(prefix="launchlab-tests-"))
os.environ["PREFECT_HOME"] = str(_HOME / "prefect")
os.environ.pop("PREFECT_API_URL", None)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///" + str(_HOME / "stray-mlflow.db")
for key in [k for k in os.environ if k.startswith("LAUNCHLAB_")]:
    del os.environ[key]

REPO = Path(__file__).resolve().parents[1]

# The real-browser check (`make ui-check`) starts servers and a browser: never collected by pytest.
collect_ignore_glob = ["browser/*"]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _quiet_prefect_at_exit():
    """Prefect stops its temporary API server at interpreter exit and logs it (INFO) to a console
    whose stream pytest has closed by then, which prints a "Logging error" traceback after the
    summary; nothing after the session needs Prefect's INFO lines."""
    yield
    logging.getLogger("prefect").setLevel(logging.WARNING)


@pytest.fixture
def shared_data() -> Path:
    """The shared real corpora beside the repo; skips the test when they are absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def clothing_reviews() -> pd.DataFrame:
    """300 real reviews from the bundled CC0 clothing corpus (seeded sample)."""
    frame = pd.read_parquet(REPO / "data" / "womens_clothing_reviews.parquet")
    return frame.dropna(subset=["Review Text"]).sample(300, random_state=7).reset_index(drop=True)


@pytest.fixture
def isolated_store(tmp_path, monkeypatch) -> Path:
    """MLflow tracking in a temporary SQLite file with artifacts beside it."""
    monkeypatch.setenv("LAUNCHLAB_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("LAUNCHLAB_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("LAUNCHLAB_EXPERIMENT", "test-cycles")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run ``launchlab ARGS…`` in-process; return (exit code, stdout, stderr)."""
    import sys

    from launchlab import cli as cli_module

    def run(*args: object) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["launchlab", *map(str, args)])
        code = 0
        try:
            cli_module.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def counting_embedder():
    """The HashingEmbedder test double that records every text it was asked to embed (``.seen``)."""
    from launchlab.embeddings import HashingEmbedder

    class Counting(HashingEmbedder):
        def __init__(self, dim: int = 384) -> None:
            super().__init__(dim)
            self.seen: list[str] = []

        def encode(self, texts, *, batch_size=64, progress=None):
            self.seen.extend(texts)
            return super().encode(texts, batch_size=batch_size, progress=progress)

    return Counting
