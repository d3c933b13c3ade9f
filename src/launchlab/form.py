"""The launch cycle as a form a product manager can fill (the Prefect UI's "Custom run").

:class:`CycleForm` holds the few fields a person changes (a name, the reviews file and sample,
the concepts, the launch data, the horizon, whether the run may promote models) and groups every
stage setting under :class:`AdvancedSettings`, with plain-language descriptions. Paths are
relative to the folder the deployment runs in. :func:`form_from_config` fills the form from a
:class:`~launchlab.config.CycleConfig` (the deployment's defaults) and :meth:`CycleForm.to_config`
builds the cycle config back, so YAML files, the CLI and tests keep using ``CycleConfig``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from launchlab.concepts import ConceptsConfig
from launchlab.config import CycleConfig
from launchlab.incubation import ABConfig, BassConfig, ProductionConfig
from launchlab.incubation.config import SegmentOptions, UpliftOptions
from launchlab.insight import InsightConfig
from launchlab.trends import TrendsConfig

PROMOTE_WHEN_UNCHANGED = "when unchanged"
PromoteChoice = Literal["when unchanged", "yes", "no"]


def _plain(config: type[BaseModel], name: str, doc: str, drop: tuple[str, ...] = ()) -> type[BaseModel]:
    """``config``'s fields (less ``drop``) under a plain-language description: the stage configs'
    own docstrings are written for developers (reStructuredText), the form is read by people."""
    fields = {key: (field.annotation, field) for key, field in config.model_fields.items() if key not in drop}
    return create_model(name, __doc__=doc, __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


InsightSettings = _plain(
    InsightConfig, "InsightSettings", "How customer needs are found in the reviews: how reviews are split, how many needs, "
    "how sentiment is scored.")
TrendSettings = _plain(
    TrendsConfig, "TrendSettings", "How need volumes are forecast and when a need counts as rising, declining or "
    "seasonal.", drop=("horizon",))
ConceptSettings = _plain(
    ConceptsConfig, "ConceptSettings", "How concepts are scored against the needs: the weight of each part of the score, "
    "the uncertainty band and the simulated consumer panel.")
ReadoutSettings = _plain(
    ABConfig, "ReadoutSettings", "How the launch test file is read: which columns hold the variant, the outcome and the "
    "customer, which variant is the control, and what to test.")
AdoptionSettings = _plain(
    BassConfig, "AdoptionSettings", "How the adoption curve (Bass diffusion) is fitted to the sales since launch.")
SegmentSettings = _plain(
    SegmentOptions, "SegmentSettings", "Whom to target: the customer columns of the launch test (channel, past buyer, "
    "recency ...) whose groups get a lift of their own, with intervals and shrinkage so small groups do not look like wins.")
UpliftSettings = _plain(
    UpliftOptions, "UpliftSettings", "Whom to target first: the customer columns a model learns each customer's lift from, "
    "judged out of sample, and the share of customers to treat.")
ProductionSettings = _plain(
    ProductionConfig, "ProductionSettings", "How many to make: how far ahead demand is forecast from the sales since launch, "
    "and the price, unit cost and salvage value per unit (empty: assumed, and the report says so).")


class AdvancedSettings(BaseModel):
    """Everything else a cycle can set. The defaults are the deployment's; change them only when you
    know why."""

    model_config = ConfigDict(extra="forbid")

    review_columns: dict[str, str] = Field(
        default_factory=dict,
        description="Which column of the reviews file holds what, when the names differ from text, rating, date, product, "
        "category, e.g. {\"date\": \"Simulated Date\"}.",
    )
    signal_files: list[str] = Field(
        default_factory=list, description="Other demand signals to forecast beside the needs: sales or search-interest files.")
    past_launches_file: str | None = Field(
        None, description="Past launches with their outcomes, to learn the concept score from (optional).")
    concept_norms_file: str | None = Field(
        None, description="Earlier scored concepts, to rank this cycle's concepts against; it grows every cycle (optional).")
    embedding_model: str = Field("all-MiniLM-L6-v2", description="The text model: all-MiniLM-L6-v2 (shipped) or a model folder.")
    data_notes: list[str] = Field(
        default_factory=list,
        description="What a reader of the report must know about the data (for example which parts are simulated); shown "
        "at the top of the report.")
    output_root: str = Field("out", description="Each cycle writes its tables and report into a folder of its own here.")
    insight: InsightSettings = Field(default_factory=InsightSettings)  # type: ignore[valid-type]
    trends: TrendSettings = Field(default_factory=TrendSettings)  # type: ignore[valid-type]
    concepts: ConceptSettings = Field(default_factory=ConceptSettings)  # type: ignore[valid-type]
    launch_test: ReadoutSettings = Field(  # type: ignore[valid-type]
        default_factory=lambda: ReadoutSettings(variant_col="variant", metric_col="converted"))
    adoption: AdoptionSettings = Field(default_factory=AdoptionSettings)  # type: ignore[valid-type]
    segments: SegmentSettings | None = Field(  # type: ignore[valid-type]
        None, description="Lift per customer group in the launch test. Empty: not analysed.")
    uplift: UpliftSettings | None = Field(  # type: ignore[valid-type]
        None, description="Uplift model of the launch test's customers. Empty: nobody is ranked for targeting.")
    production: ProductionSettings = Field(default_factory=ProductionSettings)  # type: ignore[valid-type]
    task_runner: Literal["default", "dask"] = Field(
        "default", description="dask: spread the embedding and forecasting over a Dask cluster.")
    dask_address: str | None = Field(None, description="Address of an existing Dask cluster, e.g. tcp://10.0.0.5:8786.")


class CycleForm(BaseModel):
    """One launch cycle: what to read and how far to look ahead."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        "", description="A readable name for this cycle, e.g. ui-trial-sample-300. Leave empty to use the Prefect run's "
        "name. The cycle's tables and report go to a folder of this name.")
    reviews_file: str = Field(
        ..., description="Customer reviews: a CSV, Parquet or JSON Lines file, relative to the folder the deployment runs in.")
    reviews_sample: int | None = Field(
        None, ge=10, description="Read a random sample of this many reviews (the same sample every time). Empty: all reviews.")
    concepts_file: str = Field(..., description="The product concepts to rank: a YAML or CSV file.")
    launch_test_file: str | None = Field(
        None, description="After launch: the launch test (one row per customer, with the variant they saw and the outcome). "
        "Empty before launch.")
    launch_sales_file: str | None = Field(
        None, description="After launch: sales of the new product per week since launch. Empty before launch.")
    horizon: int = Field(8, ge=1, description="How many periods (weeks or months) ahead to forecast the needs.")
    promote_models: PromoteChoice = Field(
        PROMOTE_WHEN_UNCHANGED,
        description="May this run's models become the registry's champions when they beat the current ones on evidence? "
        "'when unchanged': only when the run keeps the deployment's own settings (scheduled runs do); a trial with "
        "changed settings registers its models without promoting them.")
    advanced: AdvancedSettings = Field(
        default_factory=AdvancedSettings,
        description="Stage settings, for people who know why they change them; the defaults are the deployment's.")

    def to_config(self, base_dir: Path, run_name: str) -> CycleConfig:
        """The cycle config of this form; relative paths are taken from ``base_dir``, the output
        folder is ``<output_root>/<name>`` with ``run_name`` when the form has no name."""
        name = cycle_name(self.name or run_name)
        advanced = self.advanced
        document: dict[str, Any] = {
            "name": name,
            "reviews": {"path": self.reviews_file, "mapping": advanced.review_columns, "sample": self.reviews_sample},
            "series": [{"path": path} for path in advanced.signal_files],
            "concepts": self.concepts_file,
            "concept_history": advanced.past_launches_file,
            "concept_norms": advanced.concept_norms_file,
            "embedding_model": advanced.embedding_model,
            "data_notes": advanced.data_notes,
            "out_dir": str(Path(advanced.output_root) / folder_name(name)),
            "insight": advanced.insight.model_dump(),
            "trends": {**advanced.trends.model_dump(), "horizon": self.horizon},
            "scoring": advanced.concepts.model_dump(),
            "bass": advanced.adoption.model_dump(),
            "plan": advanced.production.model_dump(),
        }
        if self.launch_test_file:
            document["experiment"] = {"path": self.launch_test_file, "ab": advanced.launch_test.model_dump(),
                                      "segments": advanced.segments.model_dump() if advanced.segments else None,
                                      "uplift": advanced.uplift.model_dump() if advanced.uplift else None}
        if self.launch_sales_file:
            document["adoption"] = {"path": self.launch_sales_file}
        return CycleConfig.model_validate(document).resolve(base_dir)


def form_from_config(config: CycleConfig, base_dir: Path) -> CycleForm:
    """The form prefilled from ``config`` (paths made relative to ``base_dir`` where they lie inside
    it); the name is left empty, so each run is named after its Prefect run."""
    def rel(path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return str(Path(path).resolve().relative_to(base_dir.resolve()))
        except ValueError:
            return str(path)

    out_root = Path(config.out_dir).parent
    insight = {**config.insight.model_dump(), "cache_dir": rel(config.insight.cache_dir)}
    return CycleForm(
        reviews_file=rel(config.reviews.path),
        reviews_sample=config.reviews.sample,
        concepts_file=rel(config.concepts),
        launch_test_file=rel(config.experiment.path) if config.experiment else None,
        launch_sales_file=rel(config.adoption.path) if config.adoption else None,
        horizon=config.trends.horizon,
        advanced=AdvancedSettings(
            review_columns=config.reviews.mapping,
            signal_files=[rel(s.path) for s in config.series],
            past_launches_file=rel(config.concept_history),
            concept_norms_file=rel(config.concept_norms),
            embedding_model=config.embedding_model,
            data_notes=config.data_notes,
            output_root=rel(out_root) or "out",
            insight=InsightSettings(**insight),
            trends=TrendSettings(**config.trends.model_dump(exclude={"horizon"})),
            concepts=ConceptSettings(**config.scoring.model_dump()),
            launch_test=ReadoutSettings(**config.experiment.ab.model_dump()) if config.experiment else AdvancedSettings().launch_test,
            adoption=AdoptionSettings(**config.bass.model_dump()),
            segments=SegmentSettings(**config.experiment.segments.model_dump()) if config.experiment and config.experiment.segments else None,
            uplift=UpliftSettings(**config.experiment.uplift.model_dump()) if config.experiment and config.experiment.uplift else None,
            production=ProductionSettings(**config.plan.model_dump()),
        ),
    )


def cycle_name(text: str) -> str:
    """A cycle name: the text with slashes replaced and spaces squeezed (``weekly 2026-12-07``)."""
    cleaned = " ".join(re.sub(r"[/\\]+", "-", str(text)).split())
    return cleaned or "launch-cycle"


def folder_name(name: str) -> str:
    """A folder name for a cycle name: letters, digits, dots, dashes and underscores."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "cycle"
