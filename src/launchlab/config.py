"""Configuration: runtime settings (where things are stored) and the launch-cycle config (what runs).

Settings come from environment variables prefixed ``LAUNCHLAB_`` or a ``launchlab.env`` file in
the working directory; defaults keep everything inside the project: MLflow on
``sqlite:///mlruns/mlflow.db`` with artifacts under ``mlruns/``, Prefect's home in ``.prefect/``.
The cycle config is a pydantic model (YAML on disk, a form in the Prefect UI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from launchlab.concepts import ConceptsConfig
from launchlab.errors import InputError
from launchlab.incubation import (ABConfig, BassConfig, ProductionConfig, SegmentConfig, SegmentOptions,
                                  UpliftConfig, UpliftOptions)
from launchlab.insight import InsightConfig
from launchlab.trends import TrendsConfig


class Settings(BaseSettings):
    """Where launchlab keeps its records. Relative paths are taken from the working directory."""

    model_config = SettingsConfigDict(env_prefix="LAUNCHLAB_", env_file="launchlab.env", extra="ignore")

    tracking_uri: str = Field("sqlite:///mlruns/mlflow.db", description="MLflow tracking (and registry) URI.")
    artifact_root: str = Field("mlruns", description="Folder (or URI) for MLflow artifacts of new experiments.")
    experiment: str = Field("launch-cycles", description="MLflow experiment of launch cycles.")
    prefect_home: str = Field(".prefect", description="PREFECT_HOME used unless PREFECT_API_URL is set.")
    mlflow_ui_url: str = Field("http://127.0.0.1:5000", description="Where users open the MLflow UI (`make ui`), for links.")

    def resolved_tracking_uri(self) -> str:
        """The tracking URI with a relative SQLite path made absolute (and its folder created)."""
        prefix = "sqlite:///"
        if self.tracking_uri.startswith(prefix) and not self.tracking_uri.startswith(prefix + "/"):
            path = Path(self.tracking_uri[len(prefix):]).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            return prefix + str(path)
        return self.tracking_uri

    def resolved_artifact_root(self) -> str:
        """The artifact root as a URI (a local folder becomes ``file://``)."""
        if "://" in self.artifact_root:
            return self.artifact_root
        path = Path(self.artifact_root).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path.as_uri()


class ReviewsInput(BaseModel):
    """A review file and how to read it."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(..., description="CSV, Parquet or JSON Lines file of reviews.")
    mapping: dict[str, str] = Field(default_factory=dict, description="Canonical field → your column, e.g. {'text': 'body'}.")
    sample: int | None = Field(None, ge=10, description="Keep a seeded random sample of this many reviews (None = all).")


class SeriesInput(BaseModel):
    """A time-series file (long or wide) and how to read it."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    mapping: dict[str, str] = Field(default_factory=dict)
    layout: Literal["auto", "long", "wide-periods", "wide-series"] = "auto"


class ExperimentInput(BaseModel):
    """A launch experiment file, its readout settings, and whom to target next: segment effects
    and an uplift model of the readout's metric (its variant, metric and control columns)."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    ab: ABConfig = Field(default_factory=ABConfig)
    segments: SegmentOptions | None = Field(
        None, description="Lift per segment of customer columns (e.g. channel, past buyer, recency); None: not analysed."
    )
    uplift: UpliftOptions | None = Field(
        None, description="Uplift model on pre-treatment customer columns, and a 'treat the top k%' rule; None: not fitted."
    )

    def _columns(self) -> dict[str, Any]:
        return {"variant_col": self.ab.variant_col, "metric_col": self.ab.metric_col, "control": self.ab.control}

    def segment_config(self) -> SegmentConfig | None:
        """The segment analysis' settings with the readout's columns, or None when not asked for."""
        return None if self.segments is None else SegmentConfig(**self._columns(), **self.segments.model_dump())

    def uplift_config(self) -> UpliftConfig | None:
        """The uplift model's settings with the readout's columns, or None when not asked for."""
        return None if self.uplift is None else UpliftConfig(**self._columns(), **self.uplift.model_dump())


class CycleConfig(BaseModel):
    """Everything one launch cycle needs. Relative paths are resolved against ``base_dir``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("launch-cycle", description="A name for this cycle, shown in MLflow and the report.")
    reviews: ReviewsInput
    series: list[SeriesInput] = Field(default_factory=list, description="External demand signals (sales, search interest).")
    concepts: Path = Field(..., description="YAML or CSV of candidate concepts.")
    concept_history: Path | None = Field(None, description="Past launches with outcomes (concept text + outcome) to learn the score from.")
    concept_norms: Path | None = Field(None, description="Parquet of earlier scored concepts: percentiles against them; grows each cycle.")
    experiment: ExperimentInput | None = None
    adoption: SeriesInput | None = Field(None, description="Per-period sales after launch, for the Bass adoption curve.")
    embedding_model: str = Field("all-MiniLM-L6-v2", description="Model directory, or all-MiniLM-L6-v2 (shipped offline); add @torch, @onnx or @onnx-int8 to pick the backend (default: onnx, i.e. fp32 ONNX, for all-MiniLM-L6-v2, torch for others).")
    data_notes: list[str] = Field(
        default_factory=list,
        description="What a reader of the report must know about the data, e.g. which parts are simulated. "
        "Shown at the top of the report; changes no stage's output.",
    )
    out_dir: Path = Field(Path("out"), description="Where the stage tables, quarantine files and report go.")
    insight: InsightConfig = Field(default_factory=InsightConfig)
    trends: TrendsConfig = Field(default_factory=TrendsConfig)
    scoring: ConceptsConfig = Field(default_factory=ConceptsConfig)
    bass: BassConfig = Field(default_factory=BassConfig)
    plan: ProductionConfig = Field(
        default_factory=ProductionConfig,
        description="How many to make: demand forecast over the adoption series (read as the Bass settings say) and "
        "the newsvendor's economics.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_safe(cls, value: str) -> str:
        if not value.strip() or "/" in value or "\\" in value:
            raise ValueError("name must be non-empty and contain no slashes")
        return value.strip()

    def resolve(self, base_dir: Path) -> CycleConfig:
        """Return a copy whose relative paths are taken from ``base_dir``."""
        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (base_dir / p)

        data = self.model_copy(deep=True)
        data.reviews.path = fix(data.reviews.path)
        for s in data.series:
            s.path = fix(s.path)
        data.concepts = fix(data.concepts)
        if data.concept_history:
            data.concept_history = fix(data.concept_history)
        if data.concept_norms:
            data.concept_norms = fix(data.concept_norms)
        if data.experiment:
            data.experiment.path = fix(data.experiment.path)
        if data.adoption:
            data.adoption.path = fix(data.adoption.path)
        data.out_dir = fix(data.out_dir)
        if data.insight.cache_dir is not None:
            data.insight.cache_dir = fix(Path(data.insight.cache_dir))
        return data


DEMO_CONFIG: dict[str, Any] = {
    "name": "demo-womens-clothing",
    "reviews": {"path": "data/womens_clothing_reviews_dated.parquet", "mapping": {"date": "Simulated Date"}, "sample": 1500},
    "concepts": "data/concepts.yaml",
    "experiment": {
        "path": "data/launch_experiment.csv",
        "ab": {"variant_col": "variant", "metric_col": "converted", "control": "control", "unit_col": "user_id"},
        "segments": {"segment_cols": ["channel", "past_buyer", "recency_days", "petite"], "bands": {"recency_days": [7, 30, 90]}},
        "uplift": {"covariate_cols": ["channel", "past_buyer", "recency_days", "petite", "pre_sessions"]},
    },
    "adoption": {"path": "data/launch_adoption_weekly.csv"},
    # The dress sells at $118 (data/concepts.yaml); making one costs $38, and what is left after 12 weeks goes
    # to an off-price outlet at $20.
    "plan": {"demand": {"horizon": 12}, "economics": {"price": 118, "unit_cost": 38, "salvage": 20}},
    "concept_norms": "out/concept_norms.parquet",
    "insight": {"level": "mention", "cache_dir": ".cache/embeddings"},
    "data_notes": [
        "Review texts, stars, ages and product classes are real (Women's E-Commerce Clothing Reviews, CC0). Their dates are "
        "simulated: the corpus has none, so data/generate_review_dates.py gives every review a date in 2023-09 to 2026-02 and "
        "makes one real need grow, reviews that mention petite sizing, by dating more of them in the last 8 months.",
        "The launch experiment (data/launch_experiment.csv) and the new line's weekly sales (data/launch_adoption_weekly.csv) "
        "are simulated by seeded scripts in data/; no customer in them is real.",
    ],
    "out_dir": "out/demo",
}


def find_project_dir(start: Path | None = None) -> Path:
    """The launchlab checkout holding ``data/`` (the working directory or one of its parents)."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "data" / "concepts.yaml").exists() and (folder / "pyproject.toml").exists():
            return folder
    return start


def default_cycle_config(project_dir: Path | None = None) -> CycleConfig:
    """The bundled demo cycle (women's clothing reviews), paths resolved in the project folder."""
    base = project_dir or find_project_dir()
    return CycleConfig.model_validate(DEMO_CONFIG).resolve(base)


def load_cycle_config(path: str | Path) -> CycleConfig:
    """Read a cycle config from YAML; relative paths are taken from the file's folder."""
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found", file=str(path), fix="check the path")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InputError(f"is not valid YAML{where}", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", file=str(path), fix="save it as UTF-8") from None
    if not isinstance(doc, dict):
        raise InputError("must be a mapping of settings", file=str(path), fix="see the README's config example")
    try:
        config = CycleConfig.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{first['msg']}", file=str(path), column=field, fix="fix that setting") from None
    return config.resolve(path.parent.resolve())
