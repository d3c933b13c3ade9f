"""One self-contained HTML report per launch cycle.

Plots are PNG images embedded as data URIs, so the file works offline and can be mailed. Every
piece of text that comes from reviews, concepts or series names is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io as _io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from launchlab import stages
from launchlab.lists import as_list as _as_list
from launchlab.summary import DECISION_CODES, CycleSummary, describe_trend, need_labels, read_summary, trend_evidence

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #eee;padding-bottom:.3rem;margin-top:2.2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #eee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#fafafa}.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#777;font-size:.85rem}
.quote{font-style:italic;color:#444;margin:.15rem 0}.pill{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-weight:600}
.scale{background:#d9f2dd;color:#135e20}.iterate{background:#fff1c2;color:#6b5200}.stop{background:#f9d6d5;color:#7a1410}
.prelaunch{background:#e3ecfa;color:#1d3f73}
.warn{background:#fff8e1;border-left:4px solid #f0b400;padding:.4rem .8rem;margin:.3rem 0;font-size:.9rem}
.about{background:#eef4ff;border-left:4px solid #3b6fd8;padding:.4rem .8rem;margin:.6rem 0;font-size:.95rem}
img{max-width:100%}
.answer{border:2px solid #dde3ee;border-radius:.6rem;padding:.6rem 1.2rem 1rem;margin:1rem 0 1.5rem;background:#fcfdff}
.answer h2{margin-top:.6rem;border:0}.answer h3{margin:.9rem 0 .3rem;font-size:1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:.4rem 1.4rem}
.headline{font-size:1.15rem;margin:.4rem 0}
details.notes{margin-top:2rem;border-top:2px solid #eee;padding-top:.6rem}details.notes summary{cursor:pointer;font-weight:600}
"""


def esc(value: Any) -> str:
    """HTML-escape anything (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _figure(width: float = 9, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    return stages.read_stage_table(folder, name, required=False)


def _read_json(folder: Path, name: str) -> dict | None:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def needs_section(folder: Path) -> str:
    """Need map: share and sentiment per need, and the table with quotes."""
    needs = _read(folder, "needs")
    if needs is None or needs.empty:
        return "<p>No needs were found.</p>"
    top = needs.sort_values("share", ascending=False).head(15)
    fig, ax = _figure(9, 0.35 * len(top) + 1)
    colors = ["#c0392b" if s < -0.1 else "#27ae60" if s > 0.1 else "#7f8c8d" for s in top["sentiment_mean"]]
    ax.barh(range(len(top)), top["share"] * 100, color=colors)
    ax.set_yticks(range(len(top)), [str(label)[:50] for label in top["label"]])
    ax.invert_yaxis()
    ax.set_xlabel("share of reviews (%) — red: negative, grey: mixed, green: positive sentiment")
    rows = []
    for _, need in top.iterrows():
        quotes = "".join(f'<div class="quote">“{esc(q)}”</div>' for q in _as_list(need.get("quotes"))[:3])
        rows.append(
            f"<tr><td>{esc(need['need_id'])}</td><td><b>{esc(need['label'])}</b><div class='muted'>{esc(', '.join(map(str, _as_list(need.get('keywords'))[:8])))}</div></td>"
            f"<td class='num'>{need['share']:.1%}</td><td class='num'>{need['sentiment_mean']:+.2f}</td>"
            f"<td class='num'>{need.get('neg_share', float('nan')):.0%}</td><td>{quotes}</td></tr>"
        )
    table = "<table><tr><th>id</th><th>need</th><th>share</th><th>sentiment</th><th>negative</th><th>what customers say</th></tr>" + "".join(rows) + "</table>"
    note = sentiment_note(stages.read_stage_record(folder))
    return _need_map(needs) + _png(fig) + (f"<p class='muted'>{esc(note)}</p>" if note else "") + table


def sentiment_note(record: dict[str, Any] | None) -> str:
    """One sentence on how sentiment was scored and how accurate that is, from the insight stage's
    record (``_stage.json``); empty when unknown."""
    from launchlab.insight.sentiment import describe_sentiment

    if not record:
        return ""
    return describe_sentiment(record.get("params", {}), record.get("metrics", {}))


def _need_map(needs: pd.DataFrame) -> str:
    """Needs placed by the similarity of their centroids (2-D PCA), sized by share, coloured by sentiment."""
    if "centroid" not in needs or len(needs) < 3:
        return ""
    centroids = np.vstack([np.asarray(c, dtype=float) for c in needs["centroid"]])
    centred = centroids - centroids.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    fig, ax = _figure(9, 5)
    points = ax.scatter(xy[:, 0], xy[:, 1], s=3000 * needs["share"].to_numpy() + 30, c=needs["sentiment_mean"], cmap="RdYlGn", vmin=-1, vmax=1, alpha=0.75, edgecolors="#333")
    # need ids on the bubbles (labels this long overlap): the table below names each id; an id that
    # would cover another is moved beside its bubble, with a line to it
    for (x, y), (lx, ly), need_id in zip(xy, spread_labels(xy), needs["need_id"]):
        moved = (lx, ly) != (x, y)
        ax.annotate(str(need_id), (x, y), xytext=(lx, ly), fontsize=9, ha="center", va="center", weight="bold",
                    arrowprops={"arrowstyle": "-", "color": "#555", "lw": 0.8} if moved else None)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("Need map: close needs are talked about alike; size = share, colour = sentiment; numbers = need ids below",
                 fontsize=10)
    fig.colorbar(points, ax=ax, label="mean sentiment")
    return _png(fig)


def spread_labels(xy: np.ndarray, box: tuple[float, float] = (0.045, 0.07)) -> np.ndarray:
    """Label positions for the points ``xy``: each point's own, unless its label would overlap one
    placed before (boxes of ``box`` width and height, as fractions of the data's range); then the
    nearest free spot on rings around the point. Points are placed in order, so the first keep theirs."""
    xy = np.asarray(xy, dtype=float)
    span = np.ptp(xy, axis=0) if len(xy) else np.ones(2)
    span = np.where(span > 0, span, 1.0)
    unit = xy / span
    width, height = box
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    placed: list[np.ndarray] = []
    for point in unit:
        candidates = [point] + [point + ring * np.array([np.cos(a) * width, np.sin(a) * height])
                                for ring in (1.2, 2.0, 3.0) for a in angles]
        spot = next((c for c in candidates
                     if all(abs(c[0] - q[0]) >= width or abs(c[1] - q[1]) >= height for q in placed)), candidates[-1])
        placed.append(spot)
    return np.array(placed).reshape(-1, 2) * span


def trends_section(folder: Path, max_plots: int = 4) -> str:
    """Trend classes and forecast plots (history, forecast, 80% and 95% intervals)."""
    trends, forecasts, history = _read(folder, "trends"), _read(folder, "forecasts"), _read(folder, "series")
    if trends is None or trends.empty:
        return "<p>No trends were computed.</p>"
    labels = need_labels(_read(folder.parent / stages.get_stage(stages.INSIGHT).folder, "needs"))
    counts = trends["class"].value_counts()
    parts = ["<p>" + ", ".join(f"{esc(k)}: <b>{v}</b>" for k, v in counts.items()) + " series.</p>"]
    # plot what the trend test calls rising first (a tiny intermittent series can show a huge
    # relative growth without any significant trend)
    priority = trends["class"].map({"emerging": 0, "rising": 1, "declining": 2}).fillna(3)
    ranked = trends.assign(_p=priority).sort_values(["_p", "change" if "change" in trends else "growth"],
                                                    ascending=[True, False]).drop(columns="_p")
    top = ranked.head(max_plots)["unique_id"].tolist()
    if forecasts is not None and history is not None:
        for uid in top:
            fig, ax = _figure(9, 2.6)
            h = history[history["unique_id"] == uid]
            f = forecasts[forecasts["unique_id"] == uid]
            ax.plot(h["ds"], h["y"], color="#34495e", label="history")
            ax.plot(f["ds"], f["yhat"], color="#2980b9", label="forecast")
            for lo, hi, alpha in (("yhat_lo_95", "yhat_hi_95", 0.15), ("yhat_lo_80", "yhat_hi_80", 0.3)):
                if lo in f and hi in f:
                    ax.fill_between(f["ds"], f[lo], f[hi], color="#2980b9", alpha=alpha, linewidth=0)
            row = trends[trends["unique_id"] == uid].iloc[0]
            evidence = trend_evidence(row, labels.get(str(uid)))
            ax.set_title(f"{evidence['name'][:70]} — {describe_trend(evidence)}", fontsize=10)
            ax.legend(loc="upper left", fontsize=8)
            parts.append(_png(fig))
    rows = "".join(
        f"<tr><td>{esc(e['name'])}</td><td>{esc(describe_trend(e))}</td></tr>"
        for e in (trend_evidence(r, labels.get(str(r["unique_id"]))) for _, r in ranked.head(15).iterrows())
    )
    parts.append("<p class='muted'>A class rests on the change of the series' level over its trend window and the "
                 "significance of that change; series with no trend called (too small a change, too uncertain, or a forecast "
                 "that expects it to reverse) show only that significance.</p>"
                 "<table><tr><th>series</th><th>class and evidence</th></tr>" + rows + "</table>")
    return "".join(parts)


def concepts_section(folder: Path) -> str:
    """Concept leaderboard with score bands and explanations."""
    scores = _read(folder, "scores")
    if scores is None or scores.empty:
        return "<p>No concepts were scored.</p>"
    scores = scores.sort_values("rank")
    fig, ax = _figure(9, 0.4 * len(scores) + 1)
    y = np.arange(len(scores))
    ax.barh(y, scores["score"], color="#8e44ad")
    if "score_lo" in scores and "score_hi" in scores:
        score, lo, hi = (scores[c].to_numpy(dtype=float) for c in ("score", "score_lo", "score_hi"))
        ax.errorbar(score, y, xerr=[score - lo, hi - score], fmt="none", ecolor="#333", capsize=3)
    ax.set_yticks(y, [str(n)[:45] for n in scores["name"]])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (0–100) with uncertainty band")
    rows = "".join(
        f"<tr><td class='num'>{int(r['rank'])}</td><td><b>{esc(r['name'])}</b><div class='muted'>{esc(r['concept_id'])}</div></td>"
        f"<td class='num'>{r['score']:.0f}</td><td>{esc(', '.join(map(str, _as_list(r.get('top_needs')))))}</td><td>{esc(r.get('explanation'))}</td></tr>"
        for _, r in scores.iterrows()
    )
    return _png(fig) + "<table><tr><th>rank</th><th>concept</th><th>score</th><th>top needs</th><th>why</th></tr>" + rows + "</table>"


def incubation_section(folder: Path) -> str:
    """Decision, A/B readout and the adoption curves the stage fitted (``bass_fit.parquet``)."""
    from launchlab.console import readout_rows
    from launchlab.incubation.decision import market_interval

    parts = []
    record = stages.read_stage_record(folder) or {}
    decision = stages.cycle_decision({stages.INCUBATION: record}) if record.get("skipped") else _read_json(folder, "decision.json") or {}
    if record.get("skipped"):
        parts.append(f"<p>Recommendation: <span class='pill prelaunch'>{esc(decision['decision'])}</span></p>")
        parts.append(f"<p>{esc(record['skipped'][:1].upper() + record['skipped'][1:])}: this stage runs as soon as the "
                     "cycle config names a launch experiment or an adoption series.</p>")
    elif decision:
        label = str(decision.get("decision", "none"))
        parts.append(f"<p>Recommendation: <span class='pill {esc(label)}'>{esc(label.upper())}</span></p>")
        parts.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in decision.get("reasons", [])) + "</ul>")
    readout = _read_json(folder, "readout.json")
    if readout:
        rows = "".join(
            f"<tr><td>{esc(name)}</td>" + "".join(f"<td class='num'>{esc(cell)}</td>" for cell in cells) + "</tr>"
            for name, *cells in readout_rows(readout)
        )
        parts.append(
            f"<p>Metric <b>{esc(readout.get('metric'))}</b> ({esc(readout.get('metric_type'))}), control <b>{esc(readout.get('control'))}</b>; "
            f"sample-ratio check p = {readout.get('srm_p_value', float('nan')):.3g}.</p>"
            "<table><tr><th>variant</th><th>n</th><th>mean</th><th>relative lift</th><th>CI of absolute lift</th><th>p-value</th></tr>"
            + rows + "</table>"
        )
    bass, curves = _read_json(folder, "bass.json"), _read(folder, "bass_fit")
    if bass and curves is not None:
        fig, ax = _figure(9, 3)
        for uid in [uid for uid, fit in bass.items() if isinstance(fit, dict)][:4]:
            curve = curves[curves["unique_id"] == uid]
            seen = curve[~curve["is_forecast"] & curve["y"].notna()]
            line = ax.plot(seen["period"], seen["y"], alpha=0.6, label=f"{str(uid)[:40]} actual")
            ax.plot(curve["period"], curve["yhat"], "--", color=line[0].get_color(), label=f"{str(uid)[:40]} Bass fit")
        ax.set_xlabel("periods since launch")
        ax.set_ylabel("adoptions per period")
        ax.legend(fontsize=7, ncol=2)
        parts.append(_png(fig))
        rows = "".join(
            f"<tr><td>{esc(uid)}</td><td class='num'>{fit.get('p', float('nan')):.4f}</td><td class='num'>{fit.get('q', float('nan')):.4f}</td>"
            f"<td class='num'>{fit.get('m', float('nan')):,.0f}{esc(market_interval(fit))}</td><td class='num'>{esc(fit.get('peak_period'))}</td>"
            f"<td>{esc(fit.get('warning') or '')}</td></tr>"
            for uid, fit in bass.items() if isinstance(fit, dict)
        )
        parts.append("<table><tr><th>series</th><th>p</th><th>q</th><th>m</th><th>peak period</th><th>note</th></tr>" + rows + "</table>")
    if not record.get("skipped"):
        headlines = record.get("summary", {}).get("headlines", {})
        parts.append(targeting_section(folder, headlines))
        parts.append(production_section(folder, headlines))
    return "".join(parts) or "<p>No launch readout.</p>"


def _headline(headlines: dict[str, Any], key: str) -> str:
    return f"<p class='about'>{esc(headlines[key])}</p>" if headlines.get(key) else ""


def targeting_section(folder: Path, headlines: dict[str, Any]) -> str:
    """Whom to target and the expected gain: segment lifts (raw and shrunk, with intervals), the
    heterogeneity tests, the cross-fitted Qini curve and the 'treat the top k%' table, from
    ``segments.parquet``, ``heterogeneity.parquet``, ``segments.json``, ``uplift_curve.parquet``,
    ``uplift_targeting.parquet`` and ``uplift.json``."""
    from launchlab.console import SEGMENT_COLUMNS, segment_rows

    segments, summary = _read(folder, "segments"), _read_json(folder, "segments.json")
    curve, targeting, uplift = _read(folder, "uplift_curve"), _read(folder, "uplift_targeting"), _read_json(folder, "uplift.json")
    if not headlines.get("whom_to_target") and segments is None and uplift is None:
        return ""
    parts = ["<h3>Whom to target</h3>", _headline(headlines, "whom_to_target")]
    if segments is not None and summary is not None and len(segments):
        binary = summary.get("metric_type") == "binary"
        parts.append(_segment_plot(segments, binary))
        rows = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in segment_rows(segments, binary=binary))
        parts.append(
            f"<p class='muted'>Lift of {esc(summary.get('metric'))} against {esc(summary.get('control'))} per segment, 95% intervals; "
            f"p-values adjusted across all segments ({esc(summary.get('correction'))}); the shrunk lift is pulled towards the "
            "overall lift by empirical Bayes, more for small segments (columns with fewer than four levels are not shrunk).</p>"
            "<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in SEGMENT_COLUMNS) + "</tr>" + rows + "</table>"
        )
        het = _read(folder, "heterogeneity")
        if het is not None and len(het):
            parts.append("<p class='muted'>Does the effect vary at all? " + "; ".join(
                f"{esc(r['column'])}: {esc(r['test'])} p = {r['p_value']:.3g}" for _, r in het.iterrows() if r["p_value"] == r["p_value"]
            ) + ".</p>")
    if uplift is not None and curve is not None:
        parts.append(_qini_plot(curve, uplift))
    parts.append("<h3>Expected gain</h3>" + _headline(headlines, "expected_gain"))
    if targeting is not None and len(targeting):
        rows = "".join(
            f"<tr><td class='num'>{r['share']:.0%}</td><td class='num'>{r['uplift_top']:+.4f}</td>"
            f"<td class='num'>{r['incremental']:,.0f} [{r['incremental_ci_low']:,.0f}, {r['incremental_ci_high']:,.0f}]</td>"
            f"<td class='num'>{r['incremental_random']:,.0f}</td>"
            f"<td class='num'>{r['gain_vs_random']:+,.0f} [{r['gain_ci_low']:+,.0f}, {r['gain_ci_high']:+,.0f}]</td></tr>"
            for _, r in targeting.iterrows()
        )
        parts.append("<table><tr><th>treat the top</th><th>lift among them</th><th>incremental [95% CI]</th><th>random pick of as many</th>"
                     "<th>gain over random [95% CI]</th></tr>" + rows + "</table>")
    return "".join(parts)


def _segment_plot(segments: pd.DataFrame, binary: bool) -> str:
    """Each tested segment's lift (grey) and shrunk lift (blue) with 95% intervals."""
    tested = segments[segments["tested"]] if "tested" in segments else segments
    if tested.empty:
        return ""
    scale = 100.0 if binary else 1.0
    fig, ax = _figure(9, 0.32 * len(tested) + 1)
    y = np.arange(len(tested))
    raw, shrunk = tested["lift_abs"] * scale, tested["shrunk_lift_abs"].fillna(tested["lift_abs"]) * scale
    ax.errorbar(raw, y + 0.15, xerr=[raw - tested["ci_low"] * scale, tested["ci_high"] * scale - raw], fmt="o", color="#999", label="lift")
    lo = tested["shrunk_ci_low"].fillna(tested["ci_low"]) * scale
    hi = tested["shrunk_ci_high"].fillna(tested["ci_high"]) * scale
    ax.errorbar(shrunk, y - 0.15, xerr=[shrunk - lo, hi - shrunk], fmt="o", color="#2563eb", label="shrunk towards the overall lift")
    ax.axvline(0, color="#333", linewidth=0.8)
    labels = [f"{str(c)[:20]} = {str(lv)[:18]}" + (f" ({str(v)[:12]})" if tested["variant"].nunique() > 1 else "")
              for c, lv, v in zip(tested["column"], tested["level"], tested["variant"])]
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("lift (percentage points)" if binary else "lift")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.5 / (0.32 * len(tested) + 1) - 0.08), ncol=2)
    return _png(fig)


def _qini_plot(curve: pd.DataFrame, uplift: dict[str, Any]) -> str:
    """Incremental outcomes when the top share by predicted uplift is treated, against random targeting."""
    n = float(uplift.get("rule", {}).get("population") or 1.0)
    fig, ax = _figure(9, 3.2)
    ax.plot(curve["share"] * 100, curve["qini"] * n, color="#2563eb", label="by predicted uplift (cross-fitted)")
    ax.plot(curve["share"] * 100, curve["random"] * n, "--", color="#777", label="random targeting")
    share = uplift.get("rule", {}).get("share")
    if isinstance(share, (int, float)):
        ax.axvline(share * 100, color="#16a34a", linewidth=0.8, label=f"the rule: top {share:.0%}")
    ax.set_xlabel("customers treated, best first (%)")
    ax.set_ylabel(f"incremental {str(uplift.get('metric'))[:30]}")
    ax.set_title(f"Qini curve, coefficient {uplift.get('qini_coefficient', float('nan')):.4g}", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def production_section(folder: Path, headlines: dict[str, Any]) -> str:
    """How many to make: the demand fan chart with the planned stock, and the plan per series,
    from ``demand_forecast.parquet``, ``demand.json`` and ``plan.json``."""
    plans, demand, forecast = _read_json(folder, "plan.json"), _read_json(folder, "demand.json"), _read(folder, "demand_forecast")
    if not headlines.get("how_many_to_make") and plans is None:
        return ""
    parts = ["<h3>How many to make</h3>", _headline(headlines, "how_many_to_make")]
    if plans and forecast is not None and len(forecast):
        sid = next(iter(plans))
        f = forecast[forecast["unique_id"] == sid].sort_values("step")
        x = pd.to_datetime(f["ds"]) if f["ds"].notna().all() else f["period"]
        fig, ax = _figure(9, 3.2)
        for lo, hi, alpha in (("q05", "q95", 0.15), ("q10", "q90", 0.22), ("q25", "q75", 0.35)):
            if lo in f and hi in f:
                ax.fill_between(x, f[lo], f[hi], color="#ea580c", alpha=alpha, linewidth=0)
        ax.plot(x, f["q50"], color="#ea580c", label="median demand (bands: 50%, 80%, 90%)")
        ax.axhline(plans[sid]["stock"], color="#111", linestyle="--", linewidth=1, label=f"planned stock {plans[sid]['stock']:,.0f}")
        ax.set_ylabel("cumulative demand from now")
        ax.set_title(f"Demand for {str(sid)[:50]} over the next {len(f)} periods", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        parts.append(_png(fig))
    if plans:
        rows = "".join(
            f"<tr><td>{esc(sid)}</td><td class='num'>{esc(p.get('from_ds') or p.get('from_period'))} – {esc(p.get('to_ds') or p.get('to_period'))}</td>"
            f"<td class='num'>{(demand or {}).get(sid, {}).get('median', float('nan')):,.0f} [{(demand or {}).get(sid, {}).get('lo', float('nan')):,.0f}, "
            f"{(demand or {}).get(sid, {}).get('hi', float('nan')):,.0f}]</td><td class='num'>{p['stock']:,.0f}</td>"
            f"<td class='num'>{p['service_level']:.0%}</td><td class='num'>{p['stockout_probability']:.0%}</td>"
            f"<td class='num'>{p['expected_profit']:,.0f} [{p['profit_lo']:,.0f}, {p['profit_hi']:,.0f}]</td><td>{esc(p.get('economics'))}</td></tr>"
            for sid, p in plans.items()
        )
        parts.append("<table><tr><th>series</th><th>periods</th><th>demand median [interval]</th><th>stock</th><th>service level</th>"
                     "<th>stock-out</th><th>expected profit [5–95%]</th><th>economics</th></tr>" + rows + "</table>")
        parts.append("<p class='muted'>Demand intervals come from a residual bootstrap of the Bass fit, widened by split-conformal "
                     "calibration on simulated launches; the stock is the newsvendor quantile at the service level.</p>")
    return "".join(parts)


# How each stage's folder is shown; the stage table gives the order and the titles.
_SECTIONS = {
    stages.INSIGHT: needs_section,
    stages.TRENDS: trends_section,
    stages.CONCEPTS: concepts_section,
    stages.INCUBATION: incubation_section,
}


def build_report(config, stage_results: dict[str, dict[str, Any]] | None = None, *, cycle_id: str = "") -> Path:
    """Write ``<out_dir>/report.html`` for a cycle from the stage folders; return its path.

    The first screen answers "what should we do and why" (the executive summary of
    :mod:`launchlab.summary`), after the notice about the data when the config has one; the stage
    sections follow for the stages the cycle ran; the stages' warnings close the report, collapsed.
    """
    paths = stages.cycle_paths(config)
    stage_results = stage_results or {}
    records = {stage.name: stages.read_stage_record(paths[stage.name]) for stage in stages.STAGES}
    ran = [stage for stage in stages.STAGES if records[stage.name] is not None or stage.name in stage_results]
    shown = ran or list(stages.STAGES)
    run_ids = {k: v.get("run_id") for k, v in stage_results.items()}
    body = "".join(
        f"<h2>{i}. {esc(stage.title)}</h2>{_notes_on_inputs(stage, config)}{_SECTIONS[stage.name](paths[stage.name])}"
        for i, stage in enumerate(shown, start=1)
    )
    about = "".join(f"<li>{esc(note)}</li>" for note in config.data_notes)
    about = f"<div class='about'><b>About this data</b><ul>{about}</ul></div>" if about else ""
    runs = ", ".join(f"{esc(k)}: <code>{esc(v)}</code>" for k, v in run_ids.items() if v)
    title = cycle_id or config.name
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        f"<title>launchlab — {esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Launch cycle {esc(title)}</h1>"
        f"<p class='muted'>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. MLflow runs — {runs or 'not tracked'}</p>"
        f"{about}{executive_summary(read_summary(config))}{body}{_data_notes(stage_results, records)}</body></html>"
    )
    out = Path(config.out_dir) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def _notes_on_inputs(stage, config) -> str:
    """The config's data notes that name one of the stage's input files (e.g. that the launch test
    is simulated), repeated at the top of its section for readers who jump there."""
    names = {Path(path).name for path in stage.inputs(config).files.values()}
    notes = [note for note in config.data_notes if any(name in note for name in names)]
    return "".join(f"<p class='about'><b>About this data:</b> {esc(note)}</p>" for note in notes)


def executive_summary(found: CycleSummary) -> str:
    """The answer first: the decision and why, (after launch) whom to target and how many to make,
    the needs that matter, what is rising and the top concepts."""
    pill = found.decision if found.decision in DECISION_CODES else "prelaunch"
    parts = [f"<section class='answer'><h2>What to do and why</h2>",
             f"<p class='headline'>Recommendation: <span class='pill {esc(pill)}'>{esc(found.verdict)}</span></p>"]
    if found.reasons:
        parts.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in found.reasons[:4]) + "</ul>")
    for title, answer in found.answers.items():
        parts.append(f"<p><b>{esc(title)}:</b> {esc(answer)}</p>")
    needs = "".join(
        f"<li><b>{esc(n['label'])}</b> — {n['share']:.0%} of reviews, sentiment {n['sentiment']:+.2f}"
        + (f", {n['negative']:.0%} negative" if n["negative"] is not None else "") + "</li>"
        for n in found.needs
    )
    rising = "".join(f"<li><b>{esc(r['name'])}</b> — {esc(describe_trend(r))}</li>" for r in found.rising)
    concepts = "".join(
        f"<li><b>{esc(c['name'])}</b> — score {c['score']:.0f}"
        + (f" (band {c['low']:.0f}–{c['high']:.0f})" if c["low"] is not None and c["high"] is not None else "")
        + (f"; answers {esc(', '.join(c['needs']))}" if c["needs"] else "") + "</li>"
        for c in found.concepts
    )
    parts.append("<div class='grid'>")
    parts.append(f"<div><h3>Needs that matter</h3><ol>{needs}</ol></div>" if needs else "")
    parts.append("<div><h3>What is rising</h3>" + (f"<ul>{rising}</ul>" if rising else
                 f"<p>No series of {found.n_series} shows a significant rise.</p>") + "</div>" if found.n_series else "")
    parts.append(f"<div><h3>Top concepts</h3><ol>{concepts}</ol></div>" if concepts else "")
    parts.append("</div></section>")
    return "".join(parts)


def _data_notes(stage_results: dict[str, dict[str, Any]], records: dict[str, dict[str, Any] | None]) -> str:
    """The stages' warnings about their data, collapsed at the end of the report."""
    notes = []
    for stage in stages.STAGES:
        record = stage_results.get(stage.name) or records.get(stage.name) or {}
        notes.extend((stage.name, w) for w in record.get("warnings", []))
    if not notes:
        return ""
    items = "".join(f"<div class='warn'><b>{esc(stage)}</b>: {esc(w)}</div>" for stage, w in notes)
    return f"<details class='notes'><summary>Data notes ({len(notes)}): what the stages noticed about their inputs</summary>{items}</details>"
