"""Incubation marketing benchmarks: segment effects, uplift targeting, demand intervals.

Run from the repo root (real data from ../shared/data; simulated data is seeded and labelled):

    PYTHONPATH=src nice .venv/bin/python bench/bench_incubation.py --part hillstrom
    PYTHONPATH=src nice .venv/bin/python bench/bench_incubation.py --part segments   # coverage, test size
    PYTHONPATH=src nice .venv/bin/python bench/bench_incubation.py --part shrinkage  # small segments
    PYTHONPATH=src nice .venv/bin/python bench/bench_incubation.py --part uplift     # Qini vs oracle, peers
    PYTHONPATH=src nice .venv/bin/python bench/bench_incubation.py --part calibrate  # SCALE_LOW/HIGH of plan.py
    PYTHONPATH=src nice .venv/bin/python bench/bench_incubation.py --part adoption   # interval coverage

Parts:
- hillstrom: Womens e-mail vs no e-mail, outcome visit. Segment effect of ``womens`` (1 vs 0)
  with intervals; cross-fitted uplift targeting of the top 10/20/30% vs random targeting.
- segments: simulated experiments with known individual effects (launchlab.incubation.simulate):
  coverage of the 95% segment intervals (raw and shrunk) of the true population segment
  effects; size of the heterogeneity test under a homogeneous effect (alpha 0.05).
- shrinkage: simulated experiments with 12 small segments (recency months): error and coverage
  of raw vs empirical-Bayes estimates, and how much the segment that looks best overstates.
- uplift: simulated experiments: cross-fitted Qini coefficient of the model vs the oracle
  ranking (true individual effects) on the same customers; with ``--peers`` also
  scikit-uplift's two-model learner and its Qini metric on the same scores, and causalml's
  T/X-learners when ``--causalml-python`` names an interpreter that has causalml (kept out of
  launchlab's environment: it pulls xgboost, lightgbm, shap, numba and a 350 MB CUDA library).
- calibrate: split-conformal stretches of the demand bootstrap on simulated Bass curves
  (seeds 1-2): the constants SCALE_LOW / SCALE_HIGH in launchlab/incubation/config.py (a stretch
  below 1 is not applied: calibration only widens).
- adoption: 90% intervals of cumulative demand over held-out tails, fitted on the first
  third, 40% and half of each curve: Assassin's Creed (8), IBM (4), fresh simulated curves.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from launchlab.incubation import config as incubation_config, plan
from launchlab.incubation.config import DemandConfig, SegmentConfig, UpliftConfig
from launchlab.incubation.segments import estimate_segments, segment_levels
from launchlab.incubation.simulate import simulate_bass_curves, simulate_experiment, true_segment_effects
from launchlab.incubation.uplift import UpliftModel, cross_fit_scores, fit_uplift, qini_coefficient

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HILLSTROM = SHARED / "launch" / "hillstrom_email_experiment.csv"
HILL_COVARIATES = ["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel"]
SIM_COVARIATES = ["channel", "past_buyer", "recency", "spend", "noise_a", "noise_b"]
FRACTIONS = (1 / 3, 0.4, 0.5)


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> str:
    return f"wall {time.perf_counter() - start[0]:.1f} s, CPU {time.process_time() - start[1]:.1f} s"


def part_hillstrom() -> None:
    data = pd.read_csv(HILLSTROM)
    start = _clock()
    seg = estimate_segments(data, config=SegmentConfig(
        variant_col="segment", metric_col="visit", control="No E-Mail", treatments=["Womens E-Mail"],
        segment_cols=["womens", "mens", "channel", "zip_code", "newbie", "history_segment", "recency"],
        bands={"recency": [3, 6, 9]}))
    table = seg.tables["segments"]
    print(f"segments ({_since(start)})")
    for _, r in table[table["column"] == "womens"].iterrows():
        print(f"  womens = {r['level']}: lift {r['lift_abs'] * 100:+.2f} pp [{r['ci_low'] * 100:+.2f}, "
              f"{r['ci_high'] * 100:+.2f}], shrunk {r['shrunk_lift_abs'] * 100:+.2f} pp; vs rest "
              f"{r['diff_vs_rest'] * 100:+.2f} pp [{r['diff_ci_low'] * 100:+.2f}, {r['diff_ci_high'] * 100:+.2f}], "
              f"BH p {r['diff_p_value_adj']:.2g}")
    het = seg.tables["heterogeneity"]
    print("  heterogeneity:", "; ".join(f"{r['column']} p={r['p_value']:.2g}" for _, r in het.iterrows()))
    for finding in seg.artifacts["segments.json"]["treatments"]["Womens E-Mail"]["findings"]:
        print("  finding:", finding)
    for learner in ("x", "t"):
        start = _clock()
        res = fit_uplift(data, config=UpliftConfig(
            variant_col="segment", metric_col="visit", control="No E-Mail", treatment="Womens E-Mail",
            covariate_cols=HILL_COVARIATES, learner=learner))
        print(f"uplift {learner}-learner, 5-fold cross-fitted ({_since(start)}): Qini coefficient "
              f"{res.metrics['qini_coefficient']:.5f}, AUUC {res.metrics['auuc']:.5f} (random {res.metrics['auuc_random']:.5f})")
        for _, r in res.tables["uplift_targeting"].iterrows():
            print(f"  top {r['share']:.0%}: uplift {r['uplift_top'] * 100:.2f} pp [{r['uplift_top_ci_low'] * 100:.2f}, "
                  f"{r['uplift_top_ci_high'] * 100:.2f}] vs all {r['uplift_all'] * 100:.2f} pp; incremental visits "
                  f"{r['incremental']:.0f} [{r['incremental_ci_low']:.0f}, {r['incremental_ci_high']:.0f}] vs random "
                  f"{r['incremental_random']:.0f}; gain {r['gain_vs_random']:+.0f} [{r['gain_ci_low']:+.0f}, "
                  f"{r['gain_ci_high']:+.0f}]; captures {r['captured_share']:.0%} of all incremental visits")


def part_segments(sims: int, n: int, null_sims: int) -> None:
    cfg = SegmentConfig(variant_col="variant", metric_col="converted", control="control",
                        segment_cols=["channel", "past_buyer", "recency"], bands={"recency": [4, 7, 10]})
    levels = {"channel": None, "past_buyer": None, "recency": lambda s: segment_levels(s, "recency", cfg)}
    truth = true_segment_effects(levels, n=2_000_000).set_index(["column", "level"])["true_lift"]
    start = _clock()
    raw = shrunk = total = 0
    width_raw, width_shrunk = [], []
    for seed in range(sims):
        seg = estimate_segments(simulate_experiment(n, seed=10_000 + seed), config=cfg).tables["segments"]
        true = truth.loc[list(zip(seg["column"], seg["level"]))].to_numpy()
        raw += int(((seg["ci_low"] <= true) & (true <= seg["ci_high"])).sum())
        shrunk += int(((seg["shrunk_ci_low"] <= true) & (true <= seg["shrunk_ci_high"])).sum())
        total += len(seg)
        width_raw.append((seg["ci_high"] - seg["ci_low"]).mean())
        width_shrunk.append((seg["shrunk_ci_high"] - seg["shrunk_ci_low"]).mean())
    print(f"segment intervals, {sims} simulated experiments x {n:,} customers, {total} intervals ({_since(start)}):")
    print(f"  raw 95% CI coverage {raw / total:.4f} (mean width {np.mean(width_raw) * 100:.2f} pp); "
          f"shrunk {shrunk / total:.4f} (width {np.mean(width_shrunk) * 100:.2f} pp)")
    start = _clock()
    rejections = []
    for seed in range(null_sims):
        res = estimate_segments(simulate_experiment(n, effect="homogeneous", seed=50_000 + seed), config=cfg)
        het = res.tables["heterogeneity"]
        rejections.append(het.set_index("column")["p_value"] < 0.05)
    rej = pd.DataFrame(rejections)
    se = np.sqrt(0.05 * 0.95 / null_sims)
    print(f"heterogeneity test under a homogeneous effect, {null_sims} experiments ({_since(start)}), "
          f"rejection rate at alpha 0.05 (MC s.e. {se:.3f}):")
    print("  " + "; ".join(f"{c}: {v:.3f}" for c, v in rej.mean().items()))


def part_shrinkage(sims: int, n: int) -> None:
    """Twelve recency months as segments: raw vs shrunk error and coverage, and the 'best' segment."""
    cfg = SegmentConfig(variant_col="variant", metric_col="converted", control="control", segment_cols=["recency"],
                        max_levels=12)
    truth = true_segment_effects({"recency": None}, n=2_000_000).set_index("level")["true_lift"]
    start = _clock()
    rows = []
    for seed in range(sims):
        seg = estimate_segments(simulate_experiment(n, seed=20_000 + seed), config=cfg).tables["segments"]
        true = truth.loc[seg["level"]].to_numpy()
        best = int(np.argmax(seg["lift_abs"].to_numpy()))
        rows.append({
            "mse_raw": float(((seg["lift_abs"] - true) ** 2).mean()),
            "mse_shrunk": float(((seg["shrunk_lift_abs"] - true) ** 2).mean()),
            "cover_raw": float(((seg["ci_low"] <= true) & (true <= seg["ci_high"])).mean()),
            "cover_shrunk": float(((seg["shrunk_ci_low"] <= true) & (true <= seg["shrunk_ci_high"])).mean()),
            "best_raw_overstates": float(seg["lift_abs"].iloc[best] - true[best]),
            "best_shrunk_overstates": float(seg["shrunk_lift_abs"].iloc[best] - true[best]),
        })
    r = pd.DataFrame(rows).mean()
    print(f"shrinkage, 12 recency segments, {sims} simulated experiments x {n:,} ({_since(start)}): "
          f"RMSE raw {np.sqrt(r['mse_raw']) * 100:.2f} pp vs shrunk {np.sqrt(r['mse_shrunk']) * 100:.2f} pp; "
          f"coverage raw {r['cover_raw']:.3f}, shrunk {r['cover_shrunk']:.3f}; the segment with the largest raw "
          f"lift overstates its true lift by {r['best_raw_overstates'] * 100:+.2f} pp raw, "
          f"{r['best_shrunk_overstates'] * 100:+.2f} pp shrunk")


def _sim_uplift(seed: int, n: int, strength: float, learner: str) -> dict[str, float]:
    data = simulate_experiment(n, seed=seed, strength=strength)
    X = data[SIM_COVARIATES]
    y, t = data["converted"].to_numpy(float), (data["variant"] == "treatment").to_numpy().astype(int)
    scores = cross_fit_scores(UpliftModel(learner=learner), X, y, t, n_folds=5, seed=seed)
    tau = data["tau"].to_numpy()
    rng = np.random.default_rng(seed)
    out = {"model": qini_coefficient(scores, y, t), "oracle": qini_coefficient(tau, y, t),
           "random": qini_coefficient(rng.random(n), y, t)}
    # the same rankings judged on the true individual effects (no outcome noise)
    for name, s in (("model", scores), ("oracle", tau)):
        order = np.argsort(-s)
        gain = np.cumsum(tau[order])[np.arange(1, 101) * n // 100 - 1] / n
        out[f"{name}_true"] = float((gain - np.arange(1, 101) / 100 * tau.sum() / n).mean())
    out["corr"] = float(np.corrcoef(scores, tau)[0, 1])
    return out


def part_uplift(sims: int, n: int, peers: bool, causalml_python: str | None) -> None:
    if peers or causalml_python:
        if peers:
            _peers_sklift(sims, n)
        if causalml_python:
            print(subprocess.run([causalml_python, __file__, "--part", "causalml-child", "--sims", str(sims),
                                  "--n", str(n)], capture_output=True, text=True, check=False).stdout.strip())
        return
    for strength in (0.5, 1.0):
        for learner in ("x", "t"):
            start = _clock()
            rows = pd.DataFrame([_sim_uplift(seed, n, strength, learner) for seed in range(sims)])
            ratio = rows["model"].sum() / rows["oracle"].sum()
            ratio_true = rows["model_true"].sum() / rows["oracle_true"].sum()
            print(f"uplift {learner}-learner, strength {strength}, {sims} simulated experiments x {n:,} ({_since(start)}): "
                  f"Qini model {rows['model'].mean():.5f} / oracle {rows['oracle'].mean():.5f} = {ratio:.3f} "
                  f"(per experiment: median {np.median(rows['model'] / rows['oracle']):.3f}); on true effects "
                  f"{ratio_true:.3f}; random {rows['random'].mean():+.5f}; corr(score, tau) {rows['corr'].mean():.3f}")


_PEER_BOOST = dict(max_iter=300, learning_rate=0.1, max_leaf_nodes=4, min_samples_leaf=500, l2_regularization=1.0,
                   early_stopping=True, validation_fraction=0.15, n_iter_no_change=10)


def _peers_sklift(sims: int, n: int) -> None:
    """scikit-uplift's learners with the same boosters as ours, same folds, same Qini."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklift.metrics import qini_auc_score
    from sklift.models import ClassTransformation, TwoModels
    from threadpoolctl import threadpool_limits

    for strength in (0.5, 1.0):
        start = _clock()
        rows = []
        for seed in range(sims):
            data = simulate_experiment(n, seed=seed, strength=strength)
            X = data[SIM_COVARIATES].assign(channel=data["channel"].map({"web": 0, "phone": 1, "store": 2}))
            y, t = data["converted"].to_numpy(float), (data["variant"] == "treatment").to_numpy().astype(int)
            row = {}
            for name in ("launchlab X-learner", "sklift TwoModels", "sklift TwoModels ddr_control",
                         "sklift ClassTransformation"):
                scores = np.empty(n)
                for fold in range(5):
                    test = np.arange(n) % 5 == fold
                    if name.startswith("launchlab"):
                        fitted = UpliftModel().fit(data.loc[~test, SIM_COVARIATES], y[~test], t[~test])
                        scores[test] = fitted.predict(data.loc[test, SIM_COVARIATES])
                        continue
                    boost = lambda: HistGradientBoostingClassifier(**_PEER_BOOST)  # noqa: E731
                    if name == "sklift ClassTransformation":
                        model = ClassTransformation(estimator=boost())
                    else:
                        model = TwoModels(estimator_trmnt=boost(), estimator_ctrl=boost(),
                                          method="ddr_control" if name.endswith("ddr_control") else "vanilla")
                    with threadpool_limits(1, user_api="openmp"):
                        model.fit(X[~test], y[~test], t[~test])
                        scores[test] = model.predict(X[test])
                row[name] = qini_coefficient(scores, y, t)
                row[name + ", sklift qini_auc_score"] = qini_auc_score(y, scores, t)
            row["oracle"] = qini_coefficient(data["tau"].to_numpy(), y, t)
            row["oracle, sklift qini_auc_score"] = qini_auc_score(y, data["tau"].to_numpy(), t)
            rows.append(row)
        df = pd.DataFrame(rows).sum()
        print(f"peers, strength {strength}, {sims} experiments x {n:,}, same 5 folds ({_since(start)}): "
              "Qini coefficient (ratio to oracle)")
        for k, v in df.items():
            ref = df["oracle, sklift qini_auc_score" if "sklift qini" in k else "oracle"]
            print(f"  {k}: {v / sims:.5f} ({v / ref:.3f})")


def part_causalml_child(sims: int, n: int) -> None:
    from causalml.inference.meta import BaseTClassifier, BaseXClassifier
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    for strength in (0.5, 1.0):
        res = {"causalml BaseTClassifier": [], "causalml BaseXClassifier": [], "oracle": []}
        start = _clock()
        for seed in range(sims):
            data = simulate_experiment(n, seed=seed, strength=strength)
            X = data[SIM_COVARIATES].assign(channel=data["channel"].map({"web": 0, "phone": 1, "store": 2}))
            X = X.to_numpy(float)
            y, t = data["converted"].to_numpy(float), (data["variant"] == "treatment").to_numpy().astype(int)
            for name in res:
                if name == "oracle":
                    res[name].append(qini_coefficient(data["tau"].to_numpy(), y, t))
                    continue
                scores = np.empty(n)
                for fold in range(5):
                    test = np.arange(n) % 5 == fold
                    if name.endswith("TClassifier"):
                        model = BaseTClassifier(learner=HistGradientBoostingClassifier(**_PEER_BOOST), control_name=0)
                    else:
                        model = BaseXClassifier(outcome_learner=HistGradientBoostingClassifier(**_PEER_BOOST),
                                                effect_learner=HistGradientBoostingRegressor(**_PEER_BOOST),
                                                control_name=0)
                    with threadpool_limits(1, user_api="openmp"):
                        model.fit(X[~test], t[~test], y[~test], p=np.full((~test).sum(), 0.5))
                        scores[test] = np.asarray(model.predict(X[test], p=np.full(test.sum(), 0.5))).reshape(-1)
                res[name].append(qini_coefficient(scores, y, t))
        oracle = np.sum(res["oracle"])
        print(f"causalml, strength {strength}, {sims} experiments x {n:,}, same 5 folds ({_since(start)}):")
        for name, v in res.items():
            print(f"  {name}: {np.mean(v):.5f} ({np.sum(v) / oracle:.3f})")


def _coverage_rows(curves: dict[str, np.ndarray], cfg: DemandConfig, fractions=FRACTIONS) -> pd.DataFrame:
    """Signed scores and coverage of demand intervals over held-out tails (h = H/4, H/2, H)."""
    rows = []
    for sid, v in curves.items():
        for frac in fractions:
            T = int(round(len(v) * frac))
            H = len(v) - T
            if H < 1 or T < 5:  # forecast_demand needs 5 periods to estimate the noise
                continue
            frame = pd.DataFrame({"unique_id": sid, "ds": np.arange(1, T + 1), "y": v[:T]})
            res = plan.forecast_demand(frame, config=cfg.model_copy(update={"horizon": H}))
            fc = res.tables["demand_forecast"]
            actual = np.cumsum(v[T:])
            paths = plan.demand_paths(v[:T], H, n_bootstrap=cfg.n_bootstrap, rng=np.random.default_rng(cfg.seed))
            scores = plan.signed_scores(actual, paths, cfg.interval)
            for h in sorted({H // 4, H // 2, H} - {0}):
                r = fc.iloc[h - 1]
                rows.append({"series": sid, "fraction": frac, "h": h, "H": H, "score": scores[h - 1],
                             "ratio": (r["q95"] + 1) / (r["q05"] + 1),
                             "rel_width": (r["q95"] - r["q05"]) / max(actual[h - 1], 1.0),
                             "inside": bool(r["q05"] <= actual[h - 1] <= r["q95"]), "below": actual[h - 1] < r["q05"],
                             "above": actual[h - 1] > r["q95"]})
    return pd.DataFrame(rows)


def _real_curves() -> dict[str, np.ndarray]:
    out = {}
    for name in ("assassins_creed_weekly_sales.csv", "ibm_mainframe_generations.csv"):
        wide = pd.read_csv(SHARED / "diffusion" / name)
        for col in wide.columns:
            v = wide[col].to_numpy(float)
            nz = np.flatnonzero(v > 0)
            out[col] = v[nz[0]:nz[-1] + 1]
    return out


def _sim_curves(n: int, seed: int) -> dict[str, np.ndarray]:
    frame = simulate_bass_curves(n, seed=seed)
    return {f"{seed}-{k}": g["y"].to_numpy(float) for k, g in frame.groupby("unique_id")}


def part_calibrate(n: int) -> None:
    start = _clock()
    curves = {**_sim_curves(n // 2, 1), **_sim_curves(n - n // 2, 2)}
    raw = DemandConfig(scale_low=1.0, scale_high=1.0)
    rows = _coverage_rows(curves, raw)
    low, high = plan.conformal_scales(rows["score"].to_numpy(), raw.interval)
    print(f"calibration on {len(curves)} simulated Bass curves, {len(rows)} scores ({_since(start)}): "
          f"raw coverage {rows['inside'].mean():.3f} (below {rows['below'].mean():.3f}, above {rows['above'].mean():.3f}); "
          f"conformal stretches {low:.3f} below, {high:.3f} above -> SCALE_LOW, SCALE_HIGH = "
          f"{max(low, 1.0):.3f}, {max(high, 1.0):.3f} (calibration only widens)")


def part_adoption(n: int) -> None:
    cfg = DemandConfig()
    print(f"SCALE_LOW, SCALE_HIGH = {incubation_config.SCALE_LOW}, {incubation_config.SCALE_HIGH}")
    for name, curves in (("real: Assassin's Creed + IBM", _real_curves()), ("simulated (seed 7, fresh)", _sim_curves(n, 7))):
        start = _clock()
        for label, c in (("calibrated", cfg), ("bootstrap only", cfg.model_copy(update={"scale_low": 1.0, "scale_high": 1.0}))):
            rows = _coverage_rows(curves, c)
            full = rows[rows["h"] == rows["H"]]
            print(f"{name}, {label}: 90% interval coverage {rows['inside'].mean():.3f} over {len(rows)} "
                  f"(curve, cut, horizon) cases (below {rows['below'].mean():.3f}, above {rows['above'].mean():.3f}); "
                  f"whole tail {full['inside'].mean():.3f} of {len(full)}; median q95/q05 {rows['ratio'].median():.2f}, "
                  f"median (q95 - q05) / actual {rows['rel_width'].median():.2f} ({_since(start)})")
            if name.startswith("real") and label == "calibrated":
                by = rows.groupby("series")["inside"].mean()
                print("  per series: " + ", ".join(f"{k} {v:.2f}" for k, v in by.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", required=True, choices=["hillstrom", "segments", "shrinkage", "uplift", "calibrate",
                                                      "adoption", "causalml-child"])
    ap.add_argument("--sims", type=int, default=None)
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--peers", action="store_true", help="uplift: scikit-uplift and ours on the same experiments")
    ap.add_argument("--causalml-python", default=None, help="uplift: interpreter with causalml installed")
    args = ap.parse_args()
    if args.part == "hillstrom":
        part_hillstrom()
    elif args.part == "segments":
        part_segments(min(args.sims or 300, 300), args.n or 8000, null_sims=args.sims or 1000)
    elif args.part == "shrinkage":
        part_shrinkage(args.sims or 200, args.n or 8000)
    elif args.part == "uplift":
        part_uplift(args.sims or 20, args.n or 20_000, args.peers, args.causalml_python)
    elif args.part == "causalml-child":
        part_causalml_child(args.sims or 20, args.n or 20_000)
    elif args.part == "calibrate":
        part_calibrate(args.n or 200)
    else:
        part_adoption(args.n or 100)


if __name__ == "__main__":
    sys.exit(main())
