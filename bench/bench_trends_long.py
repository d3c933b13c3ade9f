"""Long weekly series: the trend stage against AutoARIMA, AutoETS and AutoTheta (run by hand).

The data are **simulated** (no long real weekly series are available to us): 359 weekly series
of 80 to 2,600 training weeks (median about 900) plus a 13-week held-out horizon, generated in
logs, so every value is positive, from

- a level and a piecewise-linear trend whose slope changes at random weeks (about one change
  per 300 weeks),
- level shifts (about one per 400 weeks),
- a yearly season of 52.18 weeks (two harmonics, amplitude 0-15%, a third of the series none),
- AR(1) noise (phi 0-0.6, 1-5% of the level).

Scores follow the M4 conventions for weekly data: sMAPE (0-200), MASE scaled by the in-sample
lag-1 naive error, OWA = mean of sMAPE and MASE relative to Naive2 (which is the naive forecast
for weekly data in M4), 80% interval coverage. Each model runs in a fresh process on the same
frame with the same ``n_jobs`` (so peak RSS is its own); numba compilation is excluded on both
sides by a warm-up forecast on two series before timing. CPU time counts the worker processes.
The stage runs with the ``TrendsConfig`` defaults (backtest, selection, calibration included;
only ``horizon`` and ``n_jobs`` set); the order alternates peer and stage so other load on the
machine hurts both alike.

    PYTHONPATH=src nice .venv/bin/python bench/bench_trends_long.py --n-jobs 2
    PYTHONPATH=src nice .venv/bin/python bench/bench_trends_long.py --series 60 --only launchlab,AutoETS

``--dev`` scores on an inner split instead (the last 13 training weeks held out, the held-out
weeks dropped): what stage choices were made on (the 8-season fit window: on 60 dev series OWA
0.845 with 8 seasons, 0.941 with 4, 0.857 with the whole history at 4.4x the wall time).

Last measured (``--series 120 --n-jobs 2``, load average 15-27 from other sessions: wall times are
inflated, CPU times compare): stage sMAPE 3.764, MASE 1.501, OWA 0.696, 80% coverage 0.797, 39.3 s
CPU, peak RSS 354 MB; AutoETS 4.937 / 2.155 / 0.955 / 0.774, 89.7 s CPU, 283 MB; AutoTheta
4.302 / 1.710 / 0.795 / 0.763, 50.5 s CPU, 284 MB. AutoARIMA did not finish in that session: on
these simulated series it takes about 4 s of CPU per non-seasonal 900-week series and minutes per
seasonal one (its seasonal search at lag 52), so its time here says little about real weekly
data; the stage's 0.33 CPU-s per series is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

H = 13
PERIOD = 52.18
PEERS = ["AutoARIMA", "AutoETS", "AutoTheta"]
STAGE = "launchlab"


def simulate(n_series: int = 359, seed: int = 0) -> pd.DataFrame:
    """Simulated weekly series (long frame ``unique_id, ds, y``), training part plus ``H`` weeks."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.exp(rng.normal(np.log(900), 0.8, n_series)), 80, 2600).astype(int) + H
    frames = []
    for i, n in enumerate(lengths):
        t = np.arange(n)
        slope = np.zeros(n)
        changes = np.sort(rng.choice(n, size=rng.poisson(n / 300) + 1, replace=False))
        changes[0] = 0
        for start in changes:
            slope[start:] = rng.normal(0.0, 0.002)
        trend = np.cumsum(slope)
        shifts = np.zeros(n)
        for start in rng.choice(n, size=rng.poisson(n / 400), replace=False):
            shifts[start:] += rng.normal(0.0, 0.08)
        amplitude = 0.0 if rng.random() < 1 / 3 else rng.uniform(0.0, 0.15)
        phase = rng.uniform(0, 2 * np.pi, 2)
        season = amplitude * (np.sin(2 * np.pi * t / PERIOD + phase[0]) + 0.4 * np.sin(4 * np.pi * t / PERIOD + phase[1]))
        phi, sd = rng.uniform(0.0, 0.6), rng.uniform(0.01, 0.05)
        eps = rng.normal(0.0, sd, n)
        noise = np.zeros(n)
        for k in range(n):
            noise[k] = (phi * noise[k - 1] if k else 0.0) + eps[k]
        log_y = np.log(rng.uniform(50, 50_000)) + trend + shifts + season + noise
        end = pd.Timestamp("2018-12-31")
        ds = pd.date_range(end=end - pd.Timedelta(weeks=int(rng.integers(0, 300))), periods=n, freq="W-MON")
        frames.append(pd.DataFrame({"unique_id": f"W{i:03d}", "ds": ds, "y": np.exp(log_y)}))
    return pd.concat(frames, ignore_index=True)


def split(frame: pd.DataFrame, h: int = H) -> tuple[pd.DataFrame, pd.DataFrame]:
    back = frame.groupby("unique_id").cumcount(ascending=False)
    return frame[back >= h].reset_index(drop=True), frame[back < h].reset_index(drop=True)


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mb() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return max(own.ru_maxrss, children.ru_maxrss) / 1024  # Linux: KiB


def task(name: str, train_path: Path, out_path: Path, n_jobs: int) -> dict:
    """Forecast ``H`` weeks of every series in ``train_path`` with ``name``; write the forecasts."""
    train = pd.read_parquet(train_path)
    warm = train[train["unique_id"].isin(train["unique_id"].unique()[:2])]
    if name == STAGE:
        from launchlab.trends import TrendsConfig, forecast_trends

        config = TrendsConfig(horizon=H, n_jobs=n_jobs)
        forecast_trends(warm, config=config)
        start, cpu0 = time.perf_counter(), _cpu_s()
        result = forecast_trends(train, config=config)
        wall, cpu = time.perf_counter() - start, _cpu_s() - cpu0
        fc = result.tables["forecasts"][["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80"]]
        forecaster = result.models["launchlab-forecaster"]
        extra = {
            "combination": {k: "+".join(v) for k, v in getattr(forecaster, "combination_", {}).items()},
            "median_fit_weeks": float(forecaster.routes_["n_fit"].median()),
            "routes": result.tables["trends"]["route"].value_counts().to_dict(),
            "interval_scale": {k: v for k, v in result.metrics.items() if k.startswith("interval_scale")},
        }
    else:
        from statsforecast import StatsForecast, models

        model = getattr(models, name)(season_length=52)
        StatsForecast(models=[model], freq="W-MON", n_jobs=1).forecast(df=warm, h=H, level=[80])
        start, cpu0 = time.perf_counter(), _cpu_s()
        raw = StatsForecast(models=[model], freq="W-MON", n_jobs=n_jobs).forecast(df=train, h=H, level=[80])
        wall, cpu = time.perf_counter() - start, _cpu_s() - cpu0
        raw = raw.reset_index() if "unique_id" not in raw.columns else raw
        fc = pd.DataFrame(
            {
                "unique_id": raw["unique_id"], "ds": raw["ds"], "yhat": raw[name],
                "yhat_lo_80": raw[f"{name}-lo-80"], "yhat_hi_80": raw[f"{name}-hi-80"],
            }
        )
        extra = {}
    fc.to_parquet(out_path)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": _peak_rss_mb(), **extra}


def naive_forecast(train: pd.DataFrame, h: int = H) -> pd.DataFrame:
    last = train.groupby("unique_id").tail(1)
    rows = [
        pd.DataFrame({"unique_id": r.unique_id, "ds": pd.date_range(r.ds, periods=h + 1, freq="W-MON")[1:], "yhat": r.y})
        for r in last.itertuples()
    ]
    return pd.concat(rows, ignore_index=True)


def scores(fc: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    merged = test.merge(fc, on=["unique_id", "ds"], how="left")
    y, p = merged["y"].to_numpy(), merged["yhat"].to_numpy()
    smape = 200 * np.abs(y - p) / (np.abs(y) + np.abs(p))
    scale = train.groupby("unique_id")["y"].apply(lambda s: np.mean(np.abs(np.diff(s.to_numpy()))))
    mae = pd.Series(np.abs(y - p)).groupby(merged["unique_id"].to_numpy()).mean()
    out = {"smape": float(np.nanmean(smape)), "mase": float((mae / scale.reindex(mae.index)).mean())}
    if "yhat_lo_80" in merged:
        out["cov_80"] = float(np.mean((y >= merged["yhat_lo_80"]) & (y <= merged["yhat_hi_80"])))
    out["missing"] = float(np.isnan(p).mean())
    return out


def _child(name: str, work: Path, n_jobs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    cmd = [sys.executable, __file__, "--task", name, "--work", str(work), "--n-jobs", str(n_jobs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=359)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated subset of launchlab,AutoARIMA,AutoETS,AutoTheta")
    parser.add_argument("--dev", action="store_true", help="score on the inner split (training weeks only)")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.task:
        print(json.dumps(task(args.task, args.work / "train.parquet", args.work / f"{args.task}.parquet", args.n_jobs)))
        return

    frame = simulate(args.series, args.seed)
    if args.dev:
        frame, _ = split(frame)
    train, test = split(frame)
    sizes = train.groupby("unique_id").size()
    work = Path(tempfile.mkdtemp(prefix="launchlab-long-"))
    train.to_parquet(work / "train.parquet")
    print(
        f"simulated weekly series{' (dev split)' if args.dev else ''}: {len(sizes)}, training weeks "
        f"{sizes.min()}-{sizes.max()} (median {sizes.median():.0f}), horizon {H}, n_jobs {args.n_jobs}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    wanted = set(args.only.split(",")) if args.only else {STAGE, *PEERS}
    order = [m for m in ("AutoARIMA", STAGE, "AutoETS", "AutoTheta") if m in wanted]
    naive = scores(naive_forecast(train), train, test)
    rows = {}
    for name in order:
        info = _child(name, work, args.n_jobs)
        fc = pd.read_parquet(work / f"{name}.parquet")
        rows[name] = {**scores(fc, train, test), **{k: info[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")}}
        print(f"  {name:10s} {info['wall_s']:7.1f}s wall {info['cpu_s']:7.1f}s CPU", flush=True)
        if name == STAGE:
            print(f"  stage: {json.dumps({k: v for k, v in info.items() if k not in rows[name]})}", flush=True)
    table = pd.DataFrame(rows).T
    table["owa"] = (table["smape"] / naive["smape"] + table["mase"] / naive["mase"]) / 2
    table.loc["Naive2 (= Naive, weekly)", ["smape", "mase", "owa"]] = [naive["smape"], naive["mase"], 1.0]
    cols = ["smape", "mase", "owa", "cov_80", "wall_s", "cpu_s", "peak_rss_mb", "missing"]
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(table[cols].to_string())
    if STAGE in table.index and "AutoARIMA" in table.index:
        ours, arima = table.loc[STAGE], table.loc["AutoARIMA"]
        print(
            f"stage / AutoARIMA: {ours['wall_s'] / arima['wall_s']:.2f}x wall, {ours['cpu_s'] / arima['cpu_s']:.2f}x CPU, "
            f"{ours['peak_rss_mb'] / arima['peak_rss_mb']:.2f}x peak RSS; stage OWA {ours['owa']:.3f}, 80% coverage {ours['cov_80']:.3f}"
        )


if __name__ == "__main__":
    main()
