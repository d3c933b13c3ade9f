"""The model registry: every fitted model is logged with ``mlflow.sklearn`` and registered; the
``champion`` alias goes to the first version of a model and afterwards moves only when a new
version beats the champion on the metric its stage names (the stage table's ``champions``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from launchlab import __version__
from launchlab.tracking.store import retry_locked

if TYPE_CHECKING:
    from launchlab.stages import ChampionMetric

CHAMPION = "champion"


class Registry:
    """Registering models and moving the ``champion`` alias (mixed into :class:`~launchlab.tracking.Tracker`)."""

    client: Any
    set_tags: Any  # RunLog.set_tags

    def log_models(
        self, run_id: str, models: Mapping[str, Any], metrics: Mapping[str, float], champions: Mapping[str, ChampionMetric] | None = None
    ) -> dict[str, str]:
        """Log and register each fitted model; return ``{registered name: version}``.

        ``champions`` gives, per registered name, the metric that decides its ``champion`` alias.
        """
        champions = champions or {}
        versions = {
            name: self.log_model(run_id, model, name, metrics, champions.get(name)) for name, model in models.items() if model is not None
        }
        if versions:
            self.set_tags(run_id, {f"model.{k}": v for k, v in versions.items()})
        return versions

    def log_model(
        self, run_id: str, model: Any, registered_name: str, metrics: Mapping[str, float] | None = None,
        champion: ChampionMetric | None = None,
    ) -> str:
        """Log an estimator to ``run_id`` and register it; return the new version number.

        ``champion`` goes to the first version, and afterwards to a new version only when it wins
        on the ``champion`` metric (:meth:`should_promote`).
        """
        import mlflow
        import mlflow.sklearn
        import sklearn

        with mlflow.start_run(run_id=run_id, nested=True):
            info = retry_locked(
                mlflow.sklearn.log_model,
                model,
                name=registered_name,
                registered_model_name=registered_name,
                serialization_format="cloudpickle",
                pip_requirements=[f"launchlab=={__version__}", f"scikit-learn=={sklearn.__version__}"],
                await_registration_for=60,
            )
        version = str(info.registered_model_version)
        if self.should_promote(registered_name, metrics or {}, champion):
            retry_locked(self.client.set_registered_model_alias, registered_name, CHAMPION, version)
        return version

    def should_promote(self, registered_name: str, metrics: Mapping[str, float], deciding: ChampionMetric | None = None) -> bool:
        """The champion policy: True when there is no champion yet, or when the new metrics beat
        the champion's run on ``deciding`` (never without a finite deciding metric)."""
        try:
            champion = self.client.get_model_version_by_alias(registered_name, CHAMPION)
        except Exception:
            return True
        key, higher_is_better = deciding if deciding is not None else (None, True)
        new = metrics.get(key) if key else None
        if new is None or not math.isfinite(float(new)):
            return False
        try:
            old = self.client.get_run(champion.run_id).data.metrics.get(key)
        except Exception:
            old = None
        if old is None:
            return True
        return float(new) > old if higher_is_better else float(new) < old
