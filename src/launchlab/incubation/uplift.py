"""Uplift targeting: whom to treat first, learned from the experiment's own customers.

:class:`UpliftModel` estimates each customer's individual treatment effect (the lift in the
outcome the treatment causes for someone like them) with a T- or X-learner on scikit-learn's
histogram gradient boosting. :func:`fit_uplift` cross-fits it on the experiment, so every
customer is scored by a model that never saw them, and judges the ranking out of sample: the
Qini and uplift curves, their areas, the lift among the top 10/20/30% against random targeting,
and the rule "treat the top k%" with its expected incremental conversions and interval.

Definitions (customers sorted by score, best first; ``n_t, n_c, y_t, y_c`` are the treated and
control counts and outcome sums among the top ``k`` of ``N``):

- Qini curve ``Q(k) = y_t - y_c n_t / n_c`` and uplift curve ``U(k) = (y_t / n_t - y_c / n_c) k``:
  incremental outcomes among the top ``k`` had they all been treated.
- Qini coefficient: the mean over targeting depths ``φ = 1%, 2%, …, 100%`` of
  ``(Q(φN) − φ Q(N)) / N``, the gain over random targeting per customer; AUUC the same
  mean of ``U(φN) / N`` (random targeting scores ``Q(N) / 2N``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from launchlab.errors import InputError
from launchlab.incubation.config import UpliftConfig
from launchlab.incubation.units import split_arms
from launchlab.jsonable import to_jsonable
from launchlab.results import StageResult

_MAX_CATEGORIES = 250  # histogram gradient boosting takes at most 255 bins per feature


class UpliftModel(BaseEstimator):
    """Individual treatment effect model (T- or X-learner), scikit-learn style.

    ``fit(X, y, treatment)`` takes covariates (a DataFrame may hold text or category columns:
    they are coded internally), the outcome and a 0/1 treatment indicator; ``predict(X)``
    returns the estimated lift of each row. ``learner="t"`` fits one outcome model per arm and
    subtracts them; ``learner="x"`` (Künzel et al. 2019) then regresses each arm's imputed
    individual effects on the covariates and blends the two effect models by the treated share,
    which helps when the effect is simpler than the outcome. Outcome models are classifiers for
    a 0/1 outcome, regressors otherwise.

    Learned: ``binary_``, ``treated_share_``, ``outcome_models_`` (control, treated),
    ``effect_models_`` (X-learner: from control, from treated), ``categories_`` (codes of the
    text columns), ``n_features_in_`` and ``feature_names_in_`` (when fitted on a DataFrame).

    The boosters are small (4 leaves, at least 500 customers a leaf) and stop early on a 15%
    validation split: individual effects are a faint signal under outcome noise, and on
    simulated experiments with known effects these settings ranked customers far better than
    deeper trees with a fixed number of rounds (correlation with the true effect 0.82 vs 0.63;
    bench/bench_incubation.py --part uplift).

    ``n_threads`` caps the OpenMP threads of the boosting (None: the library default). The
    default is 1: on shared cores, OpenMP's busy-waiting threads made a fit 10-50 times slower
    in wall time (0.2 s of CPU took 46 s at load average 19 on 2 cores), and one thread
    is rarely the bottleneck at experiment sizes.
    """

    def __init__(self, learner: Literal["t", "x"] = "x", max_iter: int = 300, learning_rate: float = 0.1,
                 max_leaf_nodes: int = 4, min_samples_leaf: int = 500, l2_regularization: float = 1.0,
                 early_stopping: bool = True, n_threads: int | None = 1, random_state: int = 0) -> None:
        self.learner = learner
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.early_stopping = early_stopping
        self.n_threads = n_threads
        self.random_state = random_state

    def _booster(self, classifier: bool, categorical: np.ndarray) -> BaseEstimator:
        cls = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
        return cls(max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
                   min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
                   categorical_features=categorical if categorical.any() else None,
                   early_stopping=self.early_stopping, validation_fraction=0.15, n_iter_no_change=10,
                   random_state=self.random_state)

    def _matrix(self, X: Any, fitting: bool) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
        if fitting:
            self.n_features_in_ = frame.shape[1]
            if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            self.categories_ = {}
            for j in range(frame.shape[1]):
                col = frame.iloc[:, j]
                if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
                    counts = col.dropna().astype(str).value_counts()
                    self.categories_[j] = sorted(counts.index[:_MAX_CATEGORIES].tolist())
        elif frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} columns; the model was fitted on {self.n_features_in_}")
        out = np.empty(frame.shape, dtype=float)
        for j in range(frame.shape[1]):
            col = frame.iloc[:, j]
            if j in self.categories_:
                codes = pd.Categorical(col.astype("string").astype(object).where(col.notna()),
                                       categories=self.categories_[j]).codes.astype(float)
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        return out

    def fit(self, X: Any, y: Any, treatment: Any) -> UpliftModel:
        """Fit the outcome (and, for the X-learner, effect) models; returns ``self``."""
        with threadpool_limits(self.n_threads, user_api="openmp"):
            return self._fit(X, y, treatment)

    def _fit(self, X: Any, y: Any, treatment: Any) -> UpliftModel:
        if self.learner not in ("t", "x"):
            raise ValueError("learner must be 't' or 'x'")
        Z = self._matrix(X, fitting=True)
        y = np.asarray(y, dtype=float).reshape(-1)
        t = np.asarray(treatment).reshape(-1).astype(int)
        if not (len(y) == len(t) == len(Z)):
            raise ValueError("X, y and treatment must have the same number of rows")
        if set(np.unique(t)) != {0, 1}:
            raise ValueError("treatment must hold both 0 (control) and 1 (treated)")
        self.binary_ = bool(np.isin(y, (0.0, 1.0)).all())
        self.treated_share_ = float(t.mean())
        categorical = np.array([j in self.categories_ for j in range(Z.shape[1])])
        self.outcome_models_ = tuple(
            self._booster(self.binary_, categorical).fit(Z[t == arm], y[t == arm]) for arm in (0, 1))
        if self.learner == "x":
            mu0, mu1 = (self._outcome(m, Z) for m in self.outcome_models_)
            imputed = (mu1[t == 0] - y[t == 0], y[t == 1] - mu0[t == 1])
            self.effect_models_ = tuple(
                self._booster(False, categorical).fit(Z[t == arm], d) for arm, d in zip((0, 1), imputed))
        else:
            self.effect_models_ = ()
        return self

    def _outcome(self, model: BaseEstimator, Z: np.ndarray) -> np.ndarray:
        return model.predict_proba(Z)[:, 1] if self.binary_ else model.predict(Z)

    def predict(self, X: Any) -> np.ndarray:
        """Estimated individual treatment effect of each row (outcome units, e.g. probability)."""
        if not hasattr(self, "outcome_models_"):
            raise ValueError("this UpliftModel is not fitted yet; call fit(X, y, treatment) first")
        Z = self._matrix(X, fitting=False)
        with threadpool_limits(self.n_threads, user_api="openmp"):
            return self._effect(Z)

    def _effect(self, Z: np.ndarray) -> np.ndarray:
        if self.learner == "x":
            tau0, tau1 = (m.predict(Z) for m in self.effect_models_)
            e = self.treated_share_
            return e * tau0 + (1 - e) * tau1
        mu0, mu1 = (self._outcome(m, Z) for m in self.outcome_models_)
        return mu1 - mu0


# --- judging a ranking -------------------------------------------------------------------------


def _sorted_cumsums(score: np.ndarray, y: np.ndarray, t: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """Cumulative treated/control counts and outcome sums, best score first (ties in random order)."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(score.size), -score))
    ys, ts = y[order], t[order].astype(float)
    return np.cumsum(ts), np.cumsum(1 - ts), np.cumsum(ys * ts), np.cumsum(ys * (1 - ts))


def uplift_curves(score: np.ndarray, y: np.ndarray, t: np.ndarray, *, points: int = 100,
                  seed: int = 0) -> pd.DataFrame:
    """Qini and uplift curves at ``points`` targeting depths (plus 0), per customer of the sample.

    Columns: ``share`` (targeted fraction), ``qini`` and ``uplift`` (incremental outcomes per
    customer of the whole sample when the top ``share`` is treated), ``random`` (random
    targeting's Qini line), ``n_treated``, ``n_control``.
    """
    score, y, t = np.asarray(score, dtype=float), np.asarray(y, dtype=float), np.asarray(t).astype(int)
    nt, nc, yt, yc = _sorted_cumsums(score, y, t, seed)
    n = score.size
    share = np.arange(0, points + 1) / points
    k = np.clip(np.round(share * n).astype(int), 1, n) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        qini = np.where(nc[k] > 0, yt[k] - yc[k] * nt[k] / nc[k], 0.0) / n
        uplift = np.where((nt[k] > 0) & (nc[k] > 0), (yt[k] / nt[k] - yc[k] / nc[k]) * (k + 1), 0.0) / n
    qini[0] = uplift[0] = 0.0
    return pd.DataFrame({"share": share, "qini": qini, "uplift": uplift, "random": share * qini[-1],
                         "n_treated": np.where(share > 0, nt[k], 0), "n_control": np.where(share > 0, nc[k], 0)})


def qini_coefficient(score: np.ndarray, y: np.ndarray, t: np.ndarray, *, points: int = 100, seed: int = 0) -> float:
    """Mean gain of the Qini curve over random targeting, per customer (see module docstring)."""
    c = uplift_curves(score, y, t, points=points, seed=seed)
    return float((c["qini"] - c["random"]).iloc[1:].mean())


def qini_standard_error(score: np.ndarray, y: np.ndarray, t: np.ndarray, *, points: int = 100,
                        n_bootstrap: int = 400, seed: int = 0) -> float:
    """Bootstrap standard error of :func:`qini_coefficient` over the customers (Poisson weights),
    the ranking held fixed: how much the coefficient of these scores moves with the sample it is
    measured on, as a binomial standard error does for a fixed classifier's accuracy."""
    score, y, t = np.asarray(score, dtype=float), np.asarray(y, dtype=float), np.asarray(t).astype(int)
    n = score.size
    order = np.lexsort((np.random.default_rng(seed).random(n), -score))
    ys, ts = y[order], t[order].astype(float)
    k = np.clip(np.round(np.arange(1, points + 1) / points * n).astype(int), 1, n) - 1
    share = (k + 1) / n
    rng = np.random.default_rng(seed + 1)
    draws = []
    for start in range(0, n_bootstrap, 50):
        w = rng.poisson(1.0, size=(min(50, n_bootstrap - start), n)).astype(float)
        nt, nc = np.cumsum(w * ts, axis=1)[:, k], np.cumsum(w * (1 - ts), axis=1)[:, k]
        yt, yc = np.cumsum(w * ts * ys, axis=1)[:, k], np.cumsum(w * (1 - ts) * ys, axis=1)[:, k]
        with np.errstate(invalid="ignore", divide="ignore"):
            qini = np.where(nc > 0, yt - yc * nt / nc, 0.0) / w.sum(axis=1, keepdims=True)
        draws.append((qini - share * qini[:, -1:]).mean(axis=1))
    boot = np.concatenate(draws) if draws else np.empty(0)
    boot = boot[np.isfinite(boot)]
    return float(boot.std(ddof=1)) if boot.size > 1 else math.nan


def auuc(score: np.ndarray, y: np.ndarray, t: np.ndarray, *, points: int = 100, seed: int = 0) -> float:
    """Area under the uplift curve per customer (mean over the ``points`` targeting depths)."""
    return float(uplift_curves(score, y, t, points=points, seed=seed)["uplift"].iloc[1:].mean())


def _top_stats(order: np.ndarray, y: np.ndarray, t: np.ndarray, w: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """For bootstrap weights ``w`` (B x n): uplift in the top ``ks`` and overall, shape (B, len(ks) + 1)."""
    ys, ts = y[order], t[order].astype(float)
    ws = w[:, order]
    nt, nc = np.cumsum(ws * ts, axis=1), np.cumsum(ws * (1 - ts), axis=1)
    st_, sc = np.cumsum(ws * ts * ys, axis=1), np.cumsum(ws * (1 - ts) * ys, axis=1)
    idx = np.append(ks - 1, y.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return st_[:, idx] / nt[:, idx] - sc[:, idx] / nc[:, idx]


def targeting_table(score: np.ndarray, y: np.ndarray, t: np.ndarray, *, shares: list[float],
                    population: float | None = None, alpha: float = 0.05, n_bootstrap: int = 400,
                    seed: int = 0) -> pd.DataFrame:
    """What treating the top ``share`` of customers by ``score`` gains, against random targeting.

    For each share: the score threshold, the lift among the top customers (``uplift_top``) and
    overall (``uplift_all``), incremental outcomes for a ``population`` (default: the sample
    size) when its top share is treated (``incremental``) and when the same number is picked at
    random (``incremental_random``), their difference (``gain_vs_random``), and the share of all
    incremental outcomes the top captures. Intervals: percentile bootstrap over customers
    (Poisson weights, the ranking held fixed).
    """
    score, y, t = np.asarray(score, dtype=float), np.asarray(y, dtype=float), np.asarray(t).astype(int)
    n = score.size
    pop = float(population if population is not None else n)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(n), -score))
    ks = np.array([max(1, int(round(s * n))) for s in shares])
    point = _top_stats(order, y, t, np.ones((1, n)), ks)[0]
    draws = []
    for start in range(0, n_bootstrap, 50):
        w = rng.poisson(1.0, size=(min(50, n_bootstrap - start), n)).astype(float)
        draws.append(_top_stats(order, y, t, w, ks))
    boot = np.vstack(draws) if draws else np.empty((0, ks.size + 1))
    a = alpha / 2

    def ci(x: np.ndarray) -> tuple[float, float]:
        x = x[np.isfinite(x)]
        return (float(np.quantile(x, a)), float(np.quantile(x, 1 - a))) if x.size else (math.nan, math.nan)

    rows = []
    for j, (share, k) in enumerate(zip(shares, ks)):
        inc = boot[:, j] * share * pop
        rnd = boot[:, -1] * share * pop
        total = boot[:, -1] * pop
        with np.errstate(invalid="ignore", divide="ignore"):
            captured = inc / total
        rows.append({
            "share": share, "threshold": float(score[order[k - 1]]), "n_top": int(k),
            "uplift_top": float(point[j]), "uplift_top_ci_low": ci(boot[:, j])[0],
            "uplift_top_ci_high": ci(boot[:, j])[1], "uplift_all": float(point[-1]),
            "population": pop, "targeted": share * pop,
            "incremental": float(point[j] * share * pop), "incremental_ci_low": ci(inc)[0],
            "incremental_ci_high": ci(inc)[1], "incremental_random": float(point[-1] * share * pop),
            "gain_vs_random": float((point[j] - point[-1]) * share * pop), "gain_ci_low": ci(inc - rnd)[0],
            "gain_ci_high": ci(inc - rnd)[1],
            "captured_share": float(point[j] * share / point[-1]) if point[-1] != 0 else math.nan,
            "captured_ci_low": ci(captured)[0], "captured_ci_high": ci(captured)[1],
        })
    return pd.DataFrame(rows)


def cross_fit_scores(model: UpliftModel, X: pd.DataFrame, y: np.ndarray, t: np.ndarray, *, n_folds: int = 5,
                     seed: int = 0) -> np.ndarray:
    """Out-of-fold uplift scores: each customer scored by a clone fitted without their fold.

    Folds are stratified on treatment x outcome (outcome above its median for a continuous
    outcome), so every fold sees both arms.
    """
    y, t = np.asarray(y, dtype=float), np.asarray(t).astype(int)
    strata = t * 2 + (y > np.median(y) if not np.isin(y, (0.0, 1.0)).all() else y).astype(int)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    out = np.empty(len(y))
    for train, test in folds.split(np.zeros(len(y)), strata):
        fitted = clone(model).fit(X.iloc[train], y[train], t[train])
        out[test] = fitted.predict(X.iloc[test])
    return out


def _pick_treatment(arms_y: pd.Series, variant: pd.Series, control: str, treatments: list[str]) -> str:
    if len(treatments) == 1:
        return treatments[0]
    means = arms_y.groupby(variant).mean()
    return max(treatments, key=lambda v: means[v])


def _require_enough(y: np.ndarray, t: np.ndarray, binary: bool, names: dict[int, str], cfg: UpliftConfig,
                    source: str) -> None:
    """Every arm (and, for a 0/1 outcome, every arm and outcome) needs two units per fold and at
    least 10, so each fold's boosters get both outcomes and an early-stopping split that holds
    both (scikit-learn's stratified split needs two units of each class)."""
    need = max(2 * cfg.n_folds, 10)
    for arm in (0, 1):
        cells = [(f"{cfg.metric_col} = {v:g}", int(((t == arm) & (y == v)).sum())) for v in (0.0, 1.0)] if binary \
            else [("units", int((t == arm).sum()))]
        for what, count in cells:
            if count < need:
                raise InputError(
                    f"too few units for an uplift model: variant {names[arm]!r} has {count} with {what}, "
                    f"{need} are needed ({cfg.n_folds} folds)", file=source, column=cfg.metric_col,
                    fix="collect more units, or use fewer folds")


def fit_uplift(data: pd.DataFrame, *, config: UpliftConfig | None = None, source: str = "<experiment>") -> StageResult:
    """Learn whom the treatment helps most, judge that out of sample, and state a targeting rule.

    ``data``: unit-level experiment with the arm, the outcome and the ``covariate_cols``.
    Returns ``tables["uplift_curve"]`` (Qini and uplift curves of the cross-fitted scores,
    with the random line), ``tables["uplift_targeting"]`` (top 10/20/30/50% vs random, with
    intervals; the row ``share == target_share`` is the rule), ``metrics`` (``qini_coefficient``
    with its bootstrap ``qini_coefficient_se``, ``auuc``, ``uplift_top_<k>``,
    ``gain_vs_random_top_<k>``, ``rule_incremental`` ...),
    ``artifacts["uplift.json"]`` and ``models["launchlab-uplift"]``, the model refitted on all
    customers for scoring new ones.
    """
    cfg = config or UpliftConfig()
    if not cfg.covariate_cols:
        raise InputError("no covariate columns given for the uplift model", file=source,
                         fix="pass covariate_cols= naming pre-treatment customer columns (e.g. recency, channel)")
    leaks = {cfg.variant_col, cfg.metric_col} & set(cfg.covariate_cols)
    if leaks:
        raise InputError(f"column {sorted(leaks)[0]!r} cannot be both a covariate and the arm or outcome",
                         file=source, column=sorted(leaks)[0], fix="drop it from covariate_cols")
    arms = split_arms(data, cfg, covariates=list(cfg.covariate_cols),
                      treatments=[cfg.treatment] if cfg.treatment else None, source=source)
    treatment = _pick_treatment(arms.y, arms.variant, arms.control, arms.treatments)
    frame, y, t = arms.pair(treatment)
    _require_enough(y, t, arms.binary, {1: treatment, 0: arms.control}, cfg, source)
    X = frame[list(cfg.covariate_cols)].reset_index(drop=True)
    model = UpliftModel(learner=cfg.learner, random_state=cfg.seed)
    scores = cross_fit_scores(model, X, y, t, n_folds=cfg.n_folds, seed=cfg.seed)
    curve = uplift_curves(scores, y, t, seed=cfg.seed)
    shares = sorted({*cfg.shares, cfg.target_share})
    table = targeting_table(scores, y, t, shares=shares, population=cfg.population, alpha=cfg.alpha,
                            n_bootstrap=cfg.n_bootstrap, seed=cfg.seed)
    final = clone(model).fit(X, y, t)
    qini = float((curve["qini"] - curve["random"]).iloc[1:].mean())
    area = float(curve["uplift"].iloc[1:].mean())
    rule = table[np.isclose(table["share"], cfg.target_share)].iloc[0]
    metrics: dict[str, float] = {
        "rows_in": float(arms.rows_in), "rows_used": float(len(y)), "rows_quarantined": float(len(arms.quarantine)),
        "rows_other_arms": float(arms.rows_in - len(y) - len(arms.quarantine)),
        "qini_coefficient": qini,
        "qini_coefficient_se": qini_standard_error(scores, y, t, n_bootstrap=cfg.n_bootstrap, seed=cfg.seed),
        "auuc": area, "auuc_random": float(curve["random"].iloc[1:].mean()),
        "rule_share": cfg.target_share, "rule_incremental": float(rule["incremental"]),
        "rule_incremental_ci_low": float(rule["incremental_ci_low"]),
        "rule_incremental_ci_high": float(rule["incremental_ci_high"]),
        "rule_gain_vs_random": float(rule["gain_vs_random"]),
    }
    for _, r in table.iterrows():
        k = f"{round(r['share'] * 100):d}"
        metrics[f"uplift_top_{k}"] = float(r["uplift_top"])
        metrics[f"gain_vs_random_top_{k}"] = float(r["gain_vs_random"])
    clear = bool(rule["gain_ci_low"] > 0)
    warnings = []
    if not clear:
        warnings.append(f"targeting the top {cfg.target_share:.0%} is not clearly better than picking customers at "
                        f"random (gain CI {rule['gain_ci_low']:.3g} to {rule['gain_ci_high']:.3g}): the covariates "
                        "carry little about who responds")
    artifact = {
        "treatment": treatment, "control": arms.control, "metric": cfg.metric_col,
        "covariates": list(cfg.covariate_cols), "learner": cfg.learner, "n_folds": cfg.n_folds,
        "qini_coefficient": qini, "qini_coefficient_se": metrics["qini_coefficient_se"], "auuc": area,
        "uplift_all": float(rule["uplift_all"]),
        "rule": {k: rule[k] for k in ("share", "threshold", "population", "targeted", "uplift_top",
                                      "uplift_top_ci_low", "uplift_top_ci_high", "incremental",
                                      "incremental_ci_low", "incremental_ci_high", "incremental_random",
                                      "gain_vs_random", "gain_ci_low", "gain_ci_high", "captured_share")},
        "beats_random": clear,
        "sentence": (f"Treat the top {cfg.target_share:.0%} of customers by predicted uplift: expected "
                     f"{rule['incremental']:,.0f} incremental {cfg.metric_col} (95% CI {rule['incremental_ci_low']:,.0f}"
                     f" to {rule['incremental_ci_high']:,.0f}) per {rule['population']:,.0f} customers, against "
                     f"{rule['incremental_random']:,.0f} for a random {cfg.target_share:.0%} "
                     f"(gain {rule['gain_vs_random']:+,.0f}, CI {rule['gain_ci_low']:+,.0f} to {rule['gain_ci_high']:+,.0f})."),
    }
    if len(arms.quarantine):
        warnings.append(f"{len(arms.quarantine)} of {arms.rows_in} rows quarantined")
    return StageResult(
        tables={"uplift_curve": curve, "uplift_targeting": table},
        metrics=metrics,
        params={"treatment": treatment, "learner": cfg.learner, "n_folds": cfg.n_folds,
                "covariate_cols": ",".join(cfg.covariate_cols), "target_share": cfg.target_share},
        models={"launchlab-uplift": final},
        quarantine=arms.quarantine,
        summary=to_jsonable({"treatment": treatment, "qini_coefficient": qini, "sentence": artifact["sentence"]}),
        artifacts={"uplift.json": to_jsonable(artifact)},
        warnings=warnings,
    )
