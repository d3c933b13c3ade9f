"""The model registry: every fitted model is logged with ``mlflow.sklearn`` in the skops format
(no pickle), with a signature and, where one exists, an input example, and registered; the
``champion`` alias goes to the first version of a model and afterwards moves only when a new
version wins on evidence (:mod:`launchlab.tracking.champion`). Every version's description says
why it was or was not promoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from launchlab import __version__
from launchlab.tracking.champion import Evidence, Verdict, judge
from launchlab.tracking.store import retry_locked

if TYPE_CHECKING:
    from launchlab.stages import ChampionMetric

CHAMPION = "champion"
EVAL_DATA_TAG = "launchlab.eval_data"


@dataclass(frozen=True)
class Registered:
    """A registered model version, whether it took the ``champion`` alias, and why."""

    version: str
    promoted: bool
    reason: str


class Registry:
    """Registering models and moving the ``champion`` alias (mixed into :class:`~launchlab.tracking.Tracker`)."""

    client: Any
    set_tags: Any  # RunLog.set_tags

    def log_models(
        self, run_id: str, models: Mapping[str, Any], metrics: Mapping[str, float], champions: Mapping[str, ChampionMetric] | None = None,
        **options: Any,
    ) -> dict[str, str]:
        """Log and register each fitted model; return ``{registered name: version}`` (see :meth:`register_models`)."""
        return {name: entry.version for name, entry in self.register_models(run_id, models, metrics, champions, **options).items()}

    def register_models(
        self,
        run_id: str,
        models: Mapping[str, Any],
        metrics: Mapping[str, float],
        champions: Mapping[str, ChampionMetric] | None = None,
        *,
        examples: Mapping[str, Any] | None = None,
        data_key: str | None = None,
        promote: bool = True,
    ) -> dict[str, Registered]:
        """Log and register each fitted model of a stage run; return what happened to each.

        ``champions`` gives, per registered name, the metric that decides its ``champion`` alias;
        ``examples`` an input example per name; ``data_key`` identifies the evaluation data (same
        key: like with like whatever the sizes); ``promote=False`` registers without promoting.
        The run is tagged ``model.<name>`` (version) and ``promoted.<name>`` (true/false).
        """
        champions, examples = champions or {}, examples or {}
        done = {
            name: self.log_model(run_id, model, name, metrics, champions.get(name), example=examples.get(name),
                                 data_key=data_key, promote=promote)
            for name, model in models.items() if model is not None
        }
        if done:
            self.set_tags(run_id, {f"model.{k}": v.version for k, v in done.items()})
            self.set_tags(run_id, {f"promoted.{k}": str(v.promoted).lower() for k, v in done.items()})
        return done

    def log_model(
        self, run_id: str, model: Any, registered_name: str, metrics: Mapping[str, float] | None = None,
        champion: ChampionMetric | None = None, *, example: Any = None, data_key: str | None = None, promote: bool = True,
    ) -> Registered:
        """Log an estimator to ``run_id`` (skops format, signature, input example), register it, and
        apply the champion policy; the version's description and tags say why it was or was not promoted."""
        import mlflow
        import mlflow.sklearn
        import sklearn
        import skops.io

        metrics = dict(metrics or {})
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
        with mlflow.start_run(run_id=run_id, nested=True):
            info = retry_locked(
                mlflow.sklearn.log_model,
                model,
                name=registered_name,
                registered_model_name=registered_name,
                serialization_format="skops",
                skops_trusted_types=trusted,
                signature=_signature(model, example),
                input_example=example,
                pip_requirements=[f"launchlab=={__version__}", f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"],
                await_registration_for=60,
            )
        version = str(info.registered_model_version)
        verdict = self.champion_verdict(registered_name, metrics, champion, data_key=data_key, promote=promote)
        if verdict.promote:
            retry_locked(self.client.set_registered_model_alias, registered_name, CHAMPION, version)
        self._describe_version(registered_name, version, verdict, champion, Evidence.from_metrics(champion, metrics, data_key)
                               if champion else None, data_key)
        return Registered(version, verdict.promote, verdict.reason)

    def champion_verdict(
        self, registered_name: str, metrics: Mapping[str, float], deciding: ChampionMetric | None = None, *,
        data_key: str | None = None, promote: bool = True,
    ) -> Verdict:
        """The champion policy for a new version with ``metrics``, against the current champion."""
        try:
            champion = self.client.get_model_version_by_alias(registered_name, CHAMPION)
        except Exception:
            champion = None
        candidate = Evidence.from_metrics(deciding, dict(metrics), data_key) if deciding else Evidence()
        held = None
        if champion is not None and deciding is not None:
            try:
                champion_metrics = self.client.get_run(champion.run_id).data.metrics
            except Exception:
                champion_metrics = {}
            held = Evidence.from_metrics(deciding, dict(champion_metrics), (champion.tags or {}).get(EVAL_DATA_TAG))
        elif champion is not None:
            held = Evidence()
        return judge(deciding, candidate, held, str(champion.version) if champion is not None else None, allowed=promote)

    def should_promote(self, registered_name: str, metrics: Mapping[str, float], deciding: ChampionMetric | None = None) -> bool:
        """Whether a new version with ``metrics`` would take the ``champion`` alias (:meth:`champion_verdict`)."""
        return self.champion_verdict(registered_name, metrics, deciding).promote

    def _describe_version(
        self, name: str, version: str, verdict: Verdict, deciding: ChampionMetric | None, evidence: Evidence | None, data_key: str | None,
    ) -> None:
        if deciding is not None and evidence is not None:
            direction = "higher" if deciding.higher_is_better else "lower"
            measured = f"Deciding metric: {evidence.describe(deciding.metric)}; {direction} is better."
        else:
            measured = "This model has no deciding metric."
        retry_locked(self.client.update_model_version, name, version, description=f"{verdict.reason}\n\n{measured}")
        tags = {
            "launchlab.promoted": str(verdict.promote).lower(),
            "launchlab.reason": verdict.reason[:5000],
            "launchlab.deciding_metric": deciding.metric if deciding else "none",
        }
        if data_key:
            tags[EVAL_DATA_TAG] = data_key
        for key, value in tags.items():
            retry_locked(self.client.set_model_version_tag, name, version, key, value)


def _signature(model: Any, example: Any):
    """The model's signature: inferred from ``example`` and the model's predictions on it; without
    an example, the width of the embedding matrix it reads, or the forecaster's horizon."""
    import numpy as np
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema, TensorSpec

    if example is not None:
        return infer_signature(example, model.predict(example))
    width = getattr(model, "n_features_in_", None)
    if width:
        return ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, int(width)))]),
                              outputs=Schema([TensorSpec(np.dtype(np.int64), (-1,))]))
    return ModelSignature(inputs=Schema([ColSpec("long", "h")]))
