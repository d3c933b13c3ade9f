"""The launchlab forecaster: a scikit-learn estimator over statsforecast.

Series are routed by what they look like, decided from history only. A series' *current
regime* starts after its last run of at least ``regime_zeros`` zero periods (half a season, at
least ``min_length``, by default) when what follows is not sporadic itself; otherwise it is the
whole history.

* ``short``: fewer than ``min_length`` observations in the current regime → the naive model
  (reported as a fallback);
* ``new``: a regime after a long run of zeros (a need that appeared, a product relaunched) → the
  mean of the trend-capable ``models``, fitted on the regime only: never a level model chosen for
  other series, which would flatten its ramp;
* ``intermittent``: non-negative with at least ``intermittent_threshold`` zero periods among the
  last two seasons (at least 24 periods) → the mean of the Croston-type ``intermittent_models``;
* ``regular``: everything else → the mean of ``models`` (combinations beat single models, the
  lesson of the M competitions).

Models see at most the last ``fit_seasons`` seasons (``min_fit`` periods at least) of the
current regime, in the forecast and at every backtest origin: on long histories the old part
informs little and costs most. ``routes_`` holds, per series, the route, ``regime_start`` (the
first period of the current regime), ``fit_from`` / ``n_fit`` (where the fit window starts and
how many periods it holds) and the model label.

Each route is one ``StatsForecast`` call over all its series (statsforecast parallelises over
series; there is no Python loop per series). Interval bounds of the combination are the means of
the members' bounds. Forecasts of series that never went negative are clipped at zero.

With a rolling-origin :meth:`Forecaster.backtest` (on at most ``backtest_max_series`` series
per route, a seeded sample), :meth:`Forecaster.select` replaces each route's default combination
by the backtest's best subset of its pool (members, ``candidates``, naive) when it is
significantly better overall and better in every backtest window, and :meth:`Forecaster.calibrate` rescales interval widths to their
backtest coverage; ``forecast_trends`` does both.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from launchlab.errors import InputError
from launchlab.estimator_state import FramesAsArrays
from launchlab.io import require_series
from launchlab.schemas import DS, UNIQUE_ID, Y
from launchlab.trends.backtest import backtest_scale
from launchlab.trends.calendar import regularise, season_length_for
from launchlab.trends.config import DEFAULT_CANDIDATES, DEFAULT_INTERMITTENT_MODELS, DEFAULT_MODELS
from launchlab.trends.models import Guarded

COMBINED = "launchlab"
SAFETY = "Naive"
TIERS = ("regular", "new", "intermittent", "short")
BACKTESTED = ("regular", "new", "intermittent")
PARALLEL_MIN_SERIES = 50


def interval_columns(levels: Sequence[int]) -> list[str]:
    """``yhat_lo_80, yhat_hi_80, yhat_lo_95, …`` in level order."""
    return [f"yhat_{side}_{lv}" for lv in sorted(levels) for side in ("lo", "hi")]


class Forecaster(FramesAsArrays, BaseEstimator):
    """Forecast many series at once with per-route statsforecast model combinations.

    ``fit(frame)`` takes a long frame (unique_id, ds, y), aligns it to one calendar, fills gaps
    and routes every series; ``predict(h)`` returns ``unique_id, ds, yhat, yhat_lo_<l>,
    yhat_hi_<l>…, model``; ``backtest(h, n_windows)`` runs a rolling-origin backtest of every
    member model and of the combination. Statistical models are refit on the stored history at
    prediction time (statsforecast's memory-light ``forecast`` path), so the fitted state is the
    clean history plus the routing.
    """

    def __init__(
        self,
        freq: str | int | None = None,
        season_length: int | None = None,
        levels: Sequence[int] = (80, 95),
        models: Sequence[str] = tuple(DEFAULT_MODELS),
        intermittent_models: Sequence[str] = tuple(DEFAULT_INTERMITTENT_MODELS),
        intermittent_threshold: float = 0.3,
        min_length: int = 10,
        fill: str = "interpolate",
        n_jobs: int = -1,
        candidates: Sequence[str] = tuple(DEFAULT_CANDIDATES),
        max_members: int = 3,
        min_select_series: int = 30,
        select_alpha: float = 0.05,
        backtest_max_series: int | None = 300,
        seed: int = 42,
        regime_zeros: int | None = None,
        fit_seasons: float | None = 8,
        min_fit: int = 60,
    ) -> None:
        self.freq = freq
        self.season_length = season_length
        self.levels = levels
        self.models = models
        self.intermittent_models = intermittent_models
        self.intermittent_threshold = intermittent_threshold
        self.min_length = min_length
        self.fill = fill
        self.n_jobs = n_jobs
        self.candidates = candidates
        self.max_members = max_members
        self.min_select_series = min_select_series
        self.select_alpha = select_alpha
        self.backtest_max_series = backtest_max_series
        self.seed = seed
        self.regime_zeros = regime_zeros
        self.fit_seasons = fit_seasons
        self.min_fit = min_fit

    def fit(self, X: pd.DataFrame, y: None = None) -> Forecaster:
        """Learn the calendar, clean history and route of every series in the long frame ``X``."""
        frame = require_series(X, allow=("y_missing", "duplicate"))[0][[UNIQUE_ID, DS, Y]]
        for learned in ("combination_", "selection_", "interval_scale_"):
            self.__dict__.pop(learned, None)  # a refit must not keep choices made on other data
        reg = regularise(frame, freq=self.freq, fill=self.fill)
        del frame
        clean = reg.frame
        # Leading/trailing gaps that interpolation or ffill cannot reach stay NaN: drop them.
        if clean[Y].isna().any():
            clean = clean[clean[Y].notna()]
        sizes = clean.groupby(UNIQUE_ID)[Y].size()
        too_short = sizes.index[sizes < 2]
        if len(too_short) or not clean.index.equals(pd.RangeIndex(len(clean))):
            clean = clean[~clean[UNIQUE_ID].isin(too_short)].reset_index(drop=True)
        if clean.empty:
            raise InputError(
                "no series has two or more usable periods", column=Y, fix="supply longer series or a coarser frequency"
            )
        self.freq_ = reg.freq
        self.season_length_ = int(self.season_length or season_length_for(reg.freq))
        self.train_ = clean
        self.notes_ = list(reg.notes)
        self.quarantine_ = reg.quarantine
        self.excluded_ids_ = sorted(too_short.tolist())
        self.n_filled_ = reg.n_filled
        self.n_snapped_ = reg.n_snapped
        self.routes_ = self._route(clean)
        return self

    def _route(self, clean: pd.DataFrame) -> pd.DataFrame:
        uid = clean[UNIQUE_ID]
        g = clean.groupby(UNIQUE_ID, sort=True)[Y]
        position = g.cumcount().to_numpy()
        regime = _regime_starts(clean, self._regime_zeros())
        in_regime = position >= uid.map(regime).to_numpy()
        n_regime = pd.Series(in_regime, index=clean.index).groupby(uid).sum()
        # Intermittency is judged on recent history (two seasons, at least 24 periods) of the
        # current regime: a need mentioned every month now is not intermittent, however rare it
        # was years ago or however long it was absent before.
        recent = g.cumcount(ascending=False).to_numpy() < max(2 * self.season_length_, 24)
        zeros = clean[Y].eq(0)
        routes = pd.DataFrame(
            {
                "n_obs": g.size(),
                "zero_share": zeros[recent].groupby(uid[recent]).mean(),
                "regime_zero_share": zeros[recent & in_regime].groupby(uid[recent & in_regime]).mean(),
                "nonnegative": clean[Y].ge(0).groupby(uid).all(),
                "regime_from": regime,
                "n_regime": n_regime,
            }
        )
        # A regime after a long run of zeros counts only when it has lasted long enough to fit
        # (``min_length``) and is not sporadic itself: a burst inside sporadic demand is not a new
        # series, and an intermittent series keeps its whole history (its demand rate needs it).
        new = (
            (routes["regime_from"] > 0)
            & (routes["n_regime"] >= self.min_length)
            & (routes["regime_zero_share"] < self.intermittent_threshold)
        )
        routes["regime_from"] = np.where(new, routes["regime_from"], 0)
        routes["n_regime"] = np.where(new, routes["n_regime"], routes["n_obs"])
        routes["zero_share"] = routes["regime_zero_share"].where(new, routes["zero_share"])
        intermittent = ~new & routes["nonnegative"] & (routes["zero_share"] >= self.intermittent_threshold)
        # Sporadic demand that has become dense (a need rising from a low base, zeros thinning
        # out) is in a new regime too: its recent run of at least ``min_length`` periods with
        # few zeros, from a non-zero period on.
        dense = _dense_tail(clean, recent, self.min_length, self.intermittent_threshold).reindex(routes.index)
        grown = intermittent & (dense > 0)
        routes.loc[grown, "regime_from"] = routes.loc[grown, "n_obs"] - dense[grown]
        routes.loc[grown, "n_regime"] = dense[grown]
        routes.loc[grown, "zero_share"] = np.nan  # set below from the regime
        new |= grown
        intermittent &= ~grown
        if grown.any():
            tail = position >= uid.map(routes["regime_from"]).to_numpy()
            share = zeros[tail].groupby(uid[tail]).mean()
            routes.loc[grown, "zero_share"] = share.reindex(routes.index)[grown]
        routes["route"] = np.select(
            [routes["n_regime"] < self.min_length, new, intermittent],
            ["short", "new", "intermittent"],
            default="regular",
        )
        window = self._window()
        routes["fit_from"] = (
            np.maximum(routes["regime_from"], routes["n_obs"] - window) if window else routes["regime_from"]
        ).astype(np.int64)
        routes["n_fit"] = routes["n_obs"] - routes["fit_from"]
        at_start = position == uid.map(routes["regime_from"]).to_numpy()
        routes["regime_start"] = clean.loc[at_start, DS].set_axis(uid[at_start]).reindex(routes.index)
        routes["model"] = [self._label(r) for r in routes["route"]]
        routes["backtest"] = routes["route"] != "short"
        cap = self.backtest_max_series
        for route in BACKTESTED:
            ids = routes.index[routes["route"] == route]
            if cap is not None and len(ids) > cap:
                # Pooled choices (combination, interval scale) need a sample, not every series.
                sample = np.random.default_rng(self.seed).choice(ids, cap, replace=False)
                routes.loc[ids, "backtest"] = ids.isin(sample)
        routes.index.name = UNIQUE_ID
        columns = ["n_obs", "zero_share", "nonnegative", "route", "regime_start", "regime_from", "fit_from", "n_fit", "model", "backtest"]
        return routes[columns].reset_index()

    def _regime_zeros(self) -> int:
        """Consecutive zero periods that end a regime: ``regime_zeros``, else half a season, at least ``min_length``."""
        return int(self.regime_zeros or max(self.min_length, self.season_length_ // 2))

    def _window(self) -> int | None:
        """Periods the models are fitted on: the last ``fit_seasons`` seasons, at least ``min_fit``; None: all."""
        if self.fit_seasons is None:
            return None
        return int(max(self.fit_seasons * self.season_length_, self.min_fit))

    def _frame(self, ids: pd.Index | pd.Series, column: str = "fit_from") -> pd.DataFrame:
        """The rows of ``ids`` the models see: from each series' ``fit_from`` (or ``regime_from``) on."""
        train = self.train_[self.train_[UNIQUE_ID].isin(ids)]
        start = train[UNIQUE_ID].map(self.routes_.set_index(UNIQUE_ID)[column]).to_numpy()
        return train[train.groupby(UNIQUE_ID, sort=False).cumcount().to_numpy() >= start]

    def _members(self, route: str) -> list[str]:
        if route == "short":
            return [SAFETY]
        if route == "new":
            # A series in a new regime is forecast by the trend-capable models, whatever the
            # pooled choice of the regular route: level models would flatten its ramp.
            return list(self.models)
        chosen = getattr(self, "combination_", {}).get(route)
        if chosen:
            return list(chosen)
        return list(self.models if route == "regular" else self.intermittent_models)

    def _pool(self, route: str) -> list[str]:
        """Every model the backtest runs for a route: its default members, the candidates, naive."""
        if route == "short":
            return [SAFETY]
        if route == "new":
            return [*self.models, SAFETY]
        names = list(self.models if route == "regular" else self.intermittent_models)
        return list(dict.fromkeys([*names, *self.candidates, SAFETY]))

    def _label(self, route: str) -> str:
        members = self._members(route)
        return members[0] if len(members) == 1 else "mean(" + ",".join(members) + ")"

    def _sf(self, route: str, names: list[str] | None = None, n_series: int = 0):
        from statsforecast import StatsForecast

        names = list(dict.fromkeys([*(names or self._members(route)), SAFETY]))
        models = [Guarded(name, self.season_length_) for name in names]
        # Series are independent, so worker processes change no number; on a few series a pool
        # costs more than it saves.
        n_jobs = self.n_jobs if n_series >= PARALLEL_MIN_SERIES else 1
        return StatsForecast(models=models, freq=self.freq_, n_jobs=n_jobs), names

    def predict(self, h: int) -> pd.DataFrame:
        """Forecast ``h`` periods past each series' end: ``unique_id, ds, yhat, yhat_lo_*, yhat_hi_*, model``."""
        if h < 1:
            raise InputError(f"horizon must be at least 1, got {h}", fix="pass a positive horizon")
        parts = []
        for route in TIERS:
            ids = self.routes_.loc[self.routes_["route"] == route, UNIQUE_ID]
            if ids.empty:
                continue
            sf, names = self._sf(route, n_series=len(ids))
            raw = sf.forecast(df=self._frame(ids), h=h, level=list(self.levels))
            parts.append(self._rescale(self._combine(raw, route, names), route))
        out = pd.concat(parts, ignore_index=True).sort_values([UNIQUE_ID, DS], kind="stable")
        return out.reset_index(drop=True)

    def _combine(self, raw: pd.DataFrame, route: str, names: list[str]) -> pd.DataFrame:
        """Mean of the route's members (bounds too), the safety model where all members failed."""
        raw = raw.reset_index() if UNIQUE_ID not in raw.columns else raw
        members = self._members(route)
        out = raw[[UNIQUE_ID, DS]].copy()
        means = raw[members].to_numpy()
        failed = np.all(np.isnan(means), axis=1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["yhat"] = np.where(failed, raw[SAFETY].to_numpy(), np.nanmean(means, axis=1))
        for lv in sorted(self.levels):
            for side in ("lo", "hi"):
                cols = raw[[f"{m}-{side}-{lv}" for m in members]].to_numpy()
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    combined = np.nanmean(cols, axis=1)
                out[f"yhat_{side}_{lv}"] = np.where(failed | np.isnan(combined), raw[f"{SAFETY}-{side}-{lv}"], combined)
        out["model"] = np.where(failed, SAFETY, self._label(route))
        out["n_failed_members"] = np.isnan(means).sum(axis=1)
        nonneg = out[UNIQUE_ID].map(self.routes_.set_index(UNIQUE_ID)["nonnegative"]).to_numpy(bool)
        cols = ["yhat", *interval_columns(self.levels)]
        out.loc[nonneg, cols] = out.loc[nonneg, cols].clip(lower=0.0)
        return _order_bounds(out, self.levels)

    def select(self, backtest: pd.DataFrame) -> Forecaster:
        """Per route, replace the default combination by a subset of the pool the backtest shows is better.

        Every subset of up to ``max_members`` of the route's pool (default members, candidates,
        naive) is scored on ``backtest`` (the frame :meth:`backtest` returns) by its mean MASE over
        the route's series (scaled per series as the forecasts will be judged, see
        :func:`~launchlab.trends.backtest.backtest_scale`): one choice per route, not per series,
        because a choice made from a few backtest points per series mostly fits noise. A subset
        may replace the default only when the route has at least ``min_select_series`` backtested
        series, a one-sided paired t-test over series says it beats the default at level
        ``select_alpha`` divided by the number of subsets tried (Bonferroni: the lowest of many
        noisy scores is lower than its true error, the winner's curse), and its mean MASE is
        below the default's in every backtest window (a gain that one period carries and another
        reverses is no evidence the subset will do better in the next one). Of the subsets that
        qualify, the one with the lowest mean MASE replaces the default. ``selection_`` lists
        every subset's ``mase``, the ``p_value`` of its gain on the default and
        ``min_window_gain``, its smallest mean MASE gain on the default over the windows.
        """
        from itertools import combinations

        from scipy import stats

        rows, chosen = [], {}
        members_bt = backtest[backtest["model"] != COMBINED]
        for route in ("regular", "intermittent"):
            ids = self.routes_.loc[self.routes_["route"] == route, UNIQUE_ID]
            part = members_bt[members_bt[UNIQUE_ID].isin(ids)]
            if part.empty:
                continue
            wide = part.set_index([UNIQUE_ID, "cutoff", DS, "model"])["yhat"].unstack("model")
            y = part[part["model"] == SAFETY].set_index([UNIQUE_ID, "cutoff", DS])[Y].reindex(wide.index).to_numpy()
            keys = wide.index.to_frame(index=False)
            uid = keys[UNIQUE_ID]
            codes, uniques = pd.factorize(uid)
            counts = np.bincount(codes)
            # Backtest window of each point: the rank of its cutoff among its series' cutoffs.
            window = keys.groupby(UNIQUE_ID)["cutoff"].rank(method="dense").astype(int).to_numpy() - 1
            n_windows = int(window.max()) + 1
            cell = codes * n_windows + window
            cell_counts = np.bincount(cell, minlength=len(uniques) * n_windows)
            scale = backtest_scale(self.train_, uniques, self.season_length_).reindex(uid).to_numpy()
            nonneg = uid.map(self.routes_.set_index(UNIQUE_ID)["nonnegative"]).to_numpy(bool)

            def per_series(subset: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
                """MASE per series, and per series and window (rows: series, columns: windows)."""
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    p = np.nanmean(wide[list(subset)].to_numpy(), axis=1)
                    p = np.where(np.isnan(p), wide[SAFETY].to_numpy(), p)
                    p = np.where(nonneg, np.maximum(p, 0.0), p)
                    errors = np.abs(y - p) / scale
                    scores = np.bincount(codes, weights=errors) / counts
                    by_window = np.bincount(cell, weights=errors, minlength=len(cell_counts)) / cell_counts
                by_window = by_window.reshape(len(uniques), n_windows)
                return np.where(np.isfinite(scores), scores, np.nan), np.where(np.isfinite(by_window), by_window, np.nan)

            default = list(self.models if route == "regular" else self.intermittent_models)
            pool = [m for m in self._pool(route) if m in wide.columns]
            subsets = [list(c) for k in range(1, self.max_members + 1) for c in combinations(pool, k)]
            if set(default) <= set(wide.columns):
                baseline, baseline_windows = per_series(default)
            else:
                baseline, baseline_windows = np.full(len(uniques), np.nan), np.full((len(uniques), n_windows), np.nan)
            threshold = self.select_alpha / max(len(subsets) - 1, 1)
            qualified = []
            for subset in subsets:
                scores, windows = per_series(subset)
                gain = baseline - scores
                gain = gain[np.isfinite(gain)]
                p_value = np.nan
                if gain.size > 1 and np.any(gain != gain[0]):
                    p_value = float(stats.ttest_1samp(gain, 0.0, alternative="greater").pvalue)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mase = float(np.nanmean(scores))
                    min_window_gain = float(np.nanmin(np.nanmean(baseline_windows - windows, axis=0)))
                rows.append(
                    {
                        "route": route,
                        "combination": "+".join(subset),
                        "mase": mase,
                        "p_value": p_value,
                        "min_window_gain": min_window_gain,
                    }
                )
                if subset != default and np.isfinite(mase) and p_value < threshold and min_window_gain > 0:
                    qualified.append((mase, subset))
            if qualified and len(uniques) >= self.min_select_series:
                chosen[route] = min(qualified, key=lambda row: row[0])[1]
        self.combination_ = chosen
        self.selection_ = pd.DataFrame(rows, columns=["route", "combination", "mase", "p_value", "min_window_gain"])
        self.routes_["model"] = [self._label(r) for r in self.routes_["route"]]
        return self

    def recombine(self, backtest: pd.DataFrame) -> pd.DataFrame:
        """``backtest`` with its ``launchlab`` rows recomputed for the current combinations."""
        members_bt = backtest[backtest["model"] != COMBINED]
        blocks = [members_bt]
        cols = ["yhat", *interval_columns(self.levels)]
        keys = [UNIQUE_ID, "cutoff", DS]
        for route in BACKTESTED:
            ids = self.routes_.loc[self.routes_["route"] == route, UNIQUE_ID]
            part = members_bt[members_bt[UNIQUE_ID].isin(ids)]
            if part.empty:
                continue
            combined = part[part["model"].isin(self._members(route))].groupby(keys, sort=True)[cols].mean()
            safety = part[part["model"] == SAFETY].set_index(keys)[cols].reindex(combined.index)
            failed = combined["yhat"].isna()
            combined.loc[failed] = safety.loc[failed]
            combined[Y] = part.groupby(keys)[Y].first().reindex(combined.index)
            combined = combined.reset_index()
            nonneg = combined[UNIQUE_ID].map(self.routes_.set_index(UNIQUE_ID)["nonnegative"]).to_numpy(bool)
            combined.loc[nonneg, cols] = combined.loc[nonneg, cols].clip(lower=0.0)
            combined = _order_bounds(combined, self.levels)
            combined["model"] = COMBINED
            blocks.append(combined[backtest.columns])
        return pd.concat(blocks, ignore_index=True)

    def calibrate(self, backtest: pd.DataFrame, min_points: int = 30) -> Forecaster:
        """Rescale interval widths so they would have covered their level in ``backtest``.

        ``backtest`` is the frame :meth:`backtest` returns. Per route and level, the multiplier
        is the level-quantile of how far each held-out point lay from the point forecast in
        units of the interval's half-width on its side; it stays 1 for routes with fewer than
        ``min_points`` backtest points, and within [0.5, 3]. Statistical models' intervals
        assume the model is right and are too narrow on real data (77% for 80% on M3), which
        this corrects from the series' own history.
        """
        combined = backtest[backtest["model"] == COMBINED]
        combined = combined.merge(self.routes_[[UNIQUE_ID, "route"]], on=UNIQUE_ID, how="left")
        rows = []
        for route, part in combined.groupby("route"):
            if len(part) < min_points:
                continue
            y, yhat = part[Y].to_numpy(), part["yhat"].to_numpy()
            for lv in sorted(self.levels):
                lo, hi = part[f"yhat_lo_{lv}"].to_numpy(), part[f"yhat_hi_{lv}"].to_numpy()
                above = y >= yhat
                half = np.where(above, hi - yhat, yhat - lo)
                dist = np.abs(y - yhat)
                with np.errstate(all="ignore"):
                    ratio = np.where(dist == 0, 0.0, np.where(half > 0, dist / half, np.inf))
                scale = float(np.clip(np.quantile(ratio, lv / 100, method="higher"), 0.5, 3.0))
                rows.append({"route": route, "level": lv, "scale": scale, "n_points": len(part)})
        self.interval_scale_ = pd.DataFrame(rows, columns=["route", "level", "scale", "n_points"])
        return self

    def _rescale(self, out: pd.DataFrame, route: str) -> pd.DataFrame:
        scales = getattr(self, "interval_scale_", None)
        if scales is None or scales.empty:
            return out
        if route == "new" and not (scales["route"] == "new").any():
            route = "regular"  # new regimes are rarely long enough to backtest: borrow the regular scale
        for row in scales[scales["route"] == route].itertuples():
            lo, hi = f"yhat_lo_{row.level}", f"yhat_hi_{row.level}"
            out[lo] = out["yhat"] - row.scale * (out["yhat"] - out[lo])
            out[hi] = out["yhat"] + row.scale * (out[hi] - out["yhat"])
        nonneg = out[UNIQUE_ID].map(self.routes_.set_index(UNIQUE_ID)["nonnegative"]).to_numpy(bool)
        cols = interval_columns(self.levels)
        out.loc[nonneg, cols] = out.loc[nonneg, cols].clip(lower=0.0)
        return _order_bounds(out, self.levels)

    def backtest(self, h: int, n_windows: int = 2) -> tuple[pd.DataFrame, list[str]]:
        """Rolling-origin backtest: ``n_windows`` cutoffs ``h`` apart, refitting at each.

        Runs on the series ``routes_["backtest"]`` marks: all of a route's series, or a seeded
        random sample of ``backtest_max_series`` when the route has more.

        Returns the long frame ``unique_id, cutoff, ds, y, model, yhat, yhat_lo_*, yhat_hi_*`` (one
        block per member model and one for the combination, ``model == "launchlab"``) and the ids
        too short to backtest (they need ``min_length + n_windows * h`` periods).
        """
        need = self.min_length + n_windows * h
        routes = self.routes_
        n_regime = routes["n_obs"] - routes["regime_from"]
        skipped = sorted(routes.loc[n_regime < need, UNIQUE_ID].tolist())
        blocks = []
        for route in BACKTESTED:
            ids = routes.loc[(routes["route"] == route) & routes["backtest"] & (n_regime >= need), UNIQUE_ID]
            if ids.empty:
                continue
            sf, names = self._sf(route, self._pool(route), n_series=len(ids))
            # Each origin sees what the forecast will: the current regime, at most the fit window.
            cv = sf.cross_validation(
                df=self._frame(ids, "regime_from"), h=h, n_windows=n_windows, step_size=h,
                level=list(self.levels), input_size=self._window(),
            )
            cv = cv.reset_index() if UNIQUE_ID not in cv.columns else cv
            for name in names:
                block = cv[[UNIQUE_ID, "cutoff", DS, Y]].copy()
                block["model"] = name
                block["yhat"] = cv[name].to_numpy()
                for lv in sorted(self.levels):
                    block[f"yhat_lo_{lv}"] = cv[f"{name}-lo-{lv}"].to_numpy()
                    block[f"yhat_hi_{lv}"] = cv[f"{name}-hi-{lv}"].to_numpy()
                blocks.append(block)
            combined = self._combine(cv, route, names).drop(columns=["model", "n_failed_members"])
            combined.insert(2, "cutoff", cv["cutoff"].to_numpy())
            combined.insert(4, Y, cv[Y].to_numpy())
            combined.insert(5, "model", COMBINED)
            blocks.append(combined)
        columns = [UNIQUE_ID, "cutoff", DS, Y, "model", "yhat", *interval_columns(self.levels)]
        frame = pd.concat(blocks, ignore_index=True)[columns] if blocks else pd.DataFrame(columns=columns)
        return frame, skipped


def _dense_tail(clean: pd.DataFrame, recent: np.ndarray, min_length: int, threshold: float) -> pd.Series:
    """Per series, the longest run of its ``recent`` periods ending at its end, at least ``min_length``
    long and starting on a non-zero period, whose zero share is below ``threshold`` (0: none)."""
    part = clean.loc[recent, [UNIQUE_ID, Y]]
    zero = part[Y].eq(0)
    backwards = zero.iloc[::-1].groupby(part[UNIQUE_ID].iloc[::-1], sort=False)
    k = backwards.cumcount().iloc[::-1] + 1
    zeros_in_tail = backwards.cumsum().iloc[::-1]
    ok = (k >= min_length) & (zeros_in_tail < threshold * k) & ~zero
    return k.where(ok, 0).groupby(part[UNIQUE_ID]).max().astype(np.int64)


def _regime_starts(clean: pd.DataFrame, gap: int) -> pd.Series:
    """Per series, the position after its last run of at least ``gap`` zeros (0: no such run before the end)."""
    uid, zero = clean[UNIQUE_ID], clean[Y].eq(0).to_numpy()
    new_run = np.r_[True, (zero[1:] != zero[:-1]) | (uid.to_numpy()[1:] != uid.to_numpy()[:-1])]
    run = np.cumsum(new_run)
    run_length = np.bincount(run)[run]
    position = clean.groupby(UNIQUE_ID, sort=False).cumcount().to_numpy()
    after = pd.Series(np.where(zero & (run_length >= gap), position + 1, 0), index=clean.index)
    last = after.groupby(uid, sort=True).max()
    n = uid.value_counts().reindex(last.index)
    return last.where(last < n, 0).astype(np.int64)


def _order_bounds(out: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """Make lo_95 ≤ lo_80 ≤ yhat ≤ hi_80 ≤ hi_95 hold even after clipping or odd member bounds."""
    lo_inner, hi_inner = out["yhat"].to_numpy(), out["yhat"].to_numpy()
    for lv in sorted(levels):
        lo = np.fmin(out[f"yhat_lo_{lv}"].to_numpy(), lo_inner)
        hi = np.fmax(out[f"yhat_hi_{lv}"].to_numpy(), hi_inner)
        out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = lo, hi
        lo_inner, hi_inner = lo, hi
    return out
