"""What launchlab prints on a terminal: the tables of the CLI commands, the cycle summary, the
cycle list and diff, the A/B readout (its cells are shared with the HTML report) and the one
progress bar (shared by the CLI and the flows).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from launchlab.embeddings import ProgressCallback

if TYPE_CHECKING:
    import pandas as pd

    from launchlab.cycle_diff import CycleDiff
    from launchlab.tracking import CycleEntry, RecordedCycle

# Piped output (CI logs, files) gets wide tables instead of 80-column squeezed ones.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 180)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 180)


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], *, justify: dict[str, str] | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, **({"justify": justify[column]} if justify and column in justify else {}))
    for row in rows:
        table.add_row(*row)
    return table


# ------------------------------------------------------------------------------------------------
# Row accounting and notes


def counts_line(name: str, counts: dict[str, int], quarantine_dir: Path) -> str:
    """``FILE: N rows in = U used + Q quarantined`` (and where the reasons are)."""
    line = f"{name}: {counts['rows_in']:,} rows in = {counts['rows_used']:,} used + {counts['rows_quarantined']:,} quarantined"
    if counts.get("rows_sampled_out"):
        line += f" + {counts['rows_sampled_out']:,} left out by sampling"
    if counts["rows_quarantined"]:
        line += f" (reasons in {quarantine_dir / 'quarantine'})"
    return line


def print_counts(name: str, counts: dict[str, int], quarantine_dir: Path) -> None:
    err.print(counts_line(name, counts, quarantine_dir), highlight=False)


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        err.print(f"[yellow]note:[/] {warning}", highlight=False)


# ------------------------------------------------------------------------------------------------
# Progress


class ProgressBar:
    """A rich progress bar on stderr, fed ``(done, total)`` as a :data:`ProgressCallback`: it
    appears at the first call and goes at ``done >= total`` or :meth:`close`."""

    def __init__(self, label: str, *, transient: bool = True) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=transient,
        )
        self._task = self._progress.add_task(label, total=None)

    def __call__(self, done: int, total: int) -> None:
        if not self._progress.live.is_started:
            self._progress.start()
        self._progress.update(self._task, completed=done, total=total)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._progress.live.is_started:
            self._progress.stop()


@contextmanager
def console_progress(label: str, *, enabled: bool | None = None) -> Iterator[ProgressCallback | None]:
    """A :class:`ProgressBar` while the block runs when stderr is a terminal (or ``enabled``); else ``None``."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    bar = ProgressBar(label)
    try:
        yield bar
    finally:
        bar.close()


def spinner(label: str):
    """A spinner on stderr while the block runs, when stderr is a terminal."""
    return err.status(label) if sys.stderr.isatty() else nullcontext()


# ------------------------------------------------------------------------------------------------
# Stage outputs


def print_needs(needs: pd.DataFrame) -> None:
    rows = [(str(r["need_id"]), str(r["label"]), f"{r['share']:.1%}", f"{r['sentiment_mean']:+.2f}") for _, r in needs.head(15).iterrows()]
    out.print(_table(f"{len(needs)} needs", ("id", "need", "share", "sentiment"), rows))


def print_trends(trends: pd.DataFrame) -> None:
    """Class counts, and the series with a trend call with the numbers the call rests on."""
    from launchlab.summary import describe_trend, trend_evidence

    counts = trends["class"].value_counts().to_dict()
    out.print("Classes: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    order = trends["class"].map({"emerging": 0, "rising": 1, "declining": 2}).fillna(3)
    ranked = trends.assign(_o=order).sort_values(["_o", "change"], ascending=[True, False]).head(10)
    rows = [(str(r["unique_id"]), describe_trend(trend_evidence(r))) for _, r in ranked.iterrows()]
    out.print(_table("Trend calls (change of level over the trend window, significance)", ("series", "class and evidence"), rows))


def print_scores(scores: pd.DataFrame) -> None:
    rows = [
        (str(r["rank"]), str(r["name"]), f"{r['score']:.0f}", ", ".join(map(str, list(r["top_needs"])[:3])))
        for _, r in scores.sort_values("rank").iterrows()
    ]
    out.print(_table("Concept ranking", ("#", "concept", "score", "top needs"), rows))


def _number(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) and value is not None else "—"


def readout_rows(readout: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """The A/B readout's cells per variant: name, n, mean, relative lift, CI of the absolute
    lift, p-value (``—`` where a figure is missing). The CLI and the report show these."""
    rows = []
    for name, v in readout.get("variants", {}).items():
        rows.append((
            str(name), _number(v.get("n"), ","), _number(v.get("mean"), ".4g"), _number(v.get("lift_rel"), "+.2%"),
            f"[{_number(v.get('ci_low'), '.4g')}, {_number(v.get('ci_high'), '.4g')}]", _number(v.get("p_value"), ".3g"),
        ))
    return rows


def print_readout(readout: dict[str, Any], *, metric_col: str, variant_col: str) -> None:
    columns = ("variant", "n", "mean", "lift", "95% CI (abs)", "p")
    title = f"{metric_col} by {variant_col} (control: {readout.get('control')})"
    out.print(_table(title, columns, readout_rows(readout), justify={c: "right" for c in columns}))
    out.print(f"Sample-ratio check p = {readout.get('srm_p_value', float('nan')):.3g}")
    out.print(f"Decision: [bold]{readout['decision'].upper()}[/] — " + "; ".join(readout.get("reasons", [])[:3]))


def print_bass(fits: dict[str, Any]) -> None:
    rows = [
        (str(uid), f"{fit.get('p', float('nan')):.4f}", f"{fit.get('q', float('nan')):.4f}", f"{fit.get('m', float('nan')):,.0f}",
         str(fit.get("peak_period")), str(fit.get("warning") or ""))
        for uid, fit in fits.items() if isinstance(fit, dict)
    ]
    out.print(_table("Bass fits", ("series", "p", "q", "m", "peak period", "note"), rows))


def _lift(value: Any, binary: bool) -> str:
    if not isinstance(value, (int, float)) or value != value:
        return "—"
    return f"{value * 100:+.2f} pp" if binary else f"{value:+.4g}"


def segment_rows(segments: pd.DataFrame, *, binary: bool) -> list[tuple[str, ...]]:
    """The segment table's cells: arm, column, level, share, lift with CI, lift shrunk towards
    the overall one with its CI, difference from the rest and its adjusted p-value. The CLI and
    the report show these."""
    def pair(lo: Any, hi: Any) -> str:
        return f"[{_lift(lo, binary)}, {_lift(hi, binary)}]"

    rows = []
    for _, r in segments.iterrows():
        rows.append((
            str(r["variant"]), str(r["column"]), str(r["level"]), _number(r.get("share"), ".1%"),
            f"{_lift(r['lift_abs'], binary)} {pair(r['ci_low'], r['ci_high'])}",
            f"{_lift(r.get('shrunk_lift_abs'), binary)} {pair(r.get('shrunk_ci_low'), r.get('shrunk_ci_high'))}",
            _lift(r.get("diff_vs_rest"), binary), _number(r.get("diff_p_value_adj"), ".2g"),
        ))
    return rows


SEGMENT_COLUMNS = ("variant", "column", "level", "share", "lift [95% CI]", "shrunk lift [95% CI]", "vs rest", "adj. p")


def print_segments(segments: pd.DataFrame, heterogeneity: pd.DataFrame, summary: dict[str, Any]) -> None:
    binary = summary.get("metric_type") == "binary"
    title = f"{summary.get('metric')} lift by segment (control: {summary.get('control')}; {summary.get('correction')})"
    rows = [tuple(escape(cell) for cell in row) for row in segment_rows(segments, binary=binary)]
    out.print(_table(escape(title), SEGMENT_COLUMNS, rows))
    for _, r in heterogeneity.iterrows():
        out.print(f"Heterogeneity, {r['variant']}, {r['column']}: {r['test']} p = {_number(r['p_value'], '.3g')}",
                  highlight=False, markup=False)
    for arm, entry in summary.get("treatments", {}).items():
        findings = entry.get("findings") or [f"{arm}: no segment differs clearly from the rest"]
        for finding in findings:
            out.print(f"  • {finding}", highlight=False, markup=False)


def print_uplift(uplift: dict[str, Any], targeting: pd.DataFrame) -> None:
    rows = [
        (f"{r['share']:.0%}", f"{r['uplift_top']:+.4f}", f"{r['incremental']:,.0f} [{r['incremental_ci_low']:,.0f}, {r['incremental_ci_high']:,.0f}]",
         f"{r['incremental_random']:,.0f}", f"{r['gain_vs_random']:+,.0f} [{r['gain_ci_low']:+,.0f}, {r['gain_ci_high']:+,.0f}]")
        for _, r in targeting.iterrows()
    ]
    title = escape(f"Targeting {uplift.get('treatment')} vs {uplift.get('control')} by predicted uplift (cross-fitted, {uplift.get('n_folds')} folds)")
    columns = ("top", "lift in top", "incremental [95% CI]", "random pick", "gain [95% CI]")
    out.print(_table(title, columns, rows, justify={c: "right" for c in columns}))
    out.print(f"Qini coefficient {uplift.get('qini_coefficient', float('nan')):.5f}, AUUC {uplift.get('auuc', float('nan')):.5f}")
    out.print(str(uplift.get("sentence", "")), highlight=False, markup=False)


def print_plan(plans: dict[str, Any], demand: dict[str, Any]) -> None:
    rows = []
    for sid, plan in plans.items():
        d = demand.get(sid, {})
        rows.append((
            escape(str(sid)), f"{plan.get('from_period')}–{plan.get('to_period')}", _number(d.get("median"), ",.0f"),
            f"[{_number(d.get('lo'), ',.0f')}, {_number(d.get('hi'), ',.0f')}]", _number(plan.get("stock"), ",.0f"),
            _number(plan.get("make"), ",.0f"), _number(plan.get("stockout_probability"), ".0%"),
            f"{_number(plan.get('expected_profit'), ',.0f')} [{_number(plan.get('profit_lo'), ',.0f')}, {_number(plan.get('profit_hi'), ',.0f')}]",
        ))
    columns = ("series", "periods", "demand median", "interval", "stock", "make", "stock-out", "profit [5–95%]")
    out.print(_table("How many to make", columns, rows, justify={c: "right" for c in columns[1:]}))


# ------------------------------------------------------------------------------------------------
# Cycles

def print_cycle_summary(result: dict, settings=None) -> None:
    """The decision and why, top needs, what is rising, the concept ranking, and where to look next
    (read from the cycle's stage folders, like the report)."""
    from types import SimpleNamespace

    from launchlab.stages import CONCEPTS
    from launchlab.summary import describe_trend, read_summary

    found = read_summary(SimpleNamespace(out_dir=Path(result["report"]).parent, name=result.get("run_name", "")), top=8)
    rows = [(n["label"], f"{n['share']:.1%}", f"{n['sentiment']:+.2f}") for n in found.needs]
    out.print(_table("Top needs", ("need", "share", "sentiment"), rows, justify={"share": "right", "sentiment": "right"}))
    out.print("[bold]Rising:[/] " + ("; ".join(f"{r['name']} ({describe_trend(r)})" for r in found.rising[:5]) or "none detected"),
              highlight=False)
    ranking = result["stages"].get(CONCEPTS, {}).get("summary", {}).get("ranking", [])
    rows = [(str(i), str(c.get("name")), f"{c.get('score', 0):.0f}") for i, c in enumerate(ranking[:10], start=1)]
    out.print(_table("Concept ranking", ("#", "concept", "score"), rows, justify={"#": "right", "score": "right"}))
    if found.decision != "none":
        out.print(f"[bold]Launch decision:[/] [reverse] {found.verdict} [/]")
        for reason in found.reasons[:4]:
            out.print(f"  • {reason}", highlight=False)
    for title, answer in found.answers.items():
        out.print(f"[bold]{title}:[/] {escape(answer)}", highlight=False)
    out.print(f"\nReport:    {result['report']}")
    out.print(f"MLflow:    run [cyan]{result.get('run_name', result['parent_run_id'])}[/] — `make ui`, then {result.get('mlflow_run_url', '')}",
              highlight=False)
    if os.environ.get("PREFECT_API_URL"):
        out.print(f"Prefect:   flow run '{result.get('run_name', '')}' on {os.environ['PREFECT_API_URL'].removesuffix('/api')}", highlight=False)
    else:
        home = os.environ.get("PREFECT_HOME") or (settings.prefect_home if settings else ".prefect")
        out.print(f"Prefect:   `make prefect-ui` (or PREFECT_HOME={home} .venv/bin/prefect server start), then http://127.0.0.1:4200",
                  highlight=False)


def print_cycles(entries: list[CycleEntry], experiment: str) -> None:
    """Past cycles: start, id, status, decision, reviews data version and the time of each stage."""
    from launchlab.stages import STAGES

    columns = ("started (UTC)", "cycle", "status", "decision", "reviews data", *(stage.folder for stage in STAGES))
    rows = []
    for entry in entries:
        times = [entry.stages.get(stage.name) for stage in STAGES]
        rows.append((
            f"{entry.started:%Y-%m-%d %H:%M}", entry.cycle_id, entry.status, entry.tags.get("decision", "—"),
            entry.tags.get("data.reviews.sha256", "—")[:10],
            *("—" if t is None else f"{t.seconds:.0f}s" + (" (cached)" if t.cached else "") for t in times),
        ))
    out.print(_table(f"Launch cycles in {experiment}", columns, rows))


def print_diff(diff: CycleDiff, a: RecordedCycle, b: RecordedCycle) -> None:
    """What changed from cycle ``a`` to cycle ``b``."""
    out.print(f"[bold]{a.cycle_id}[/] → [bold]{b.cycle_id}[/]")
    out.print(f"Needs: {len(diff.matched_needs)} kept, {len(diff.new_needs)} new, {len(diff.vanished_needs)} vanished")
    for label in diff.new_needs:
        out.print(f"  [green]+ {label}[/]", highlight=False)
    for label in diff.vanished_needs:
        out.print(f"  [red]- {label}[/]", highlight=False)
    if len(diff.trend_changes):
        out.print(f"Trend class changes: {len(diff.trend_changes)}")
        for _, row in diff.trend_changes.head(15).iterrows():
            out.print(f"  {row['unique_id']}: {row['class_a']} → {row['class_b']}", highlight=False)
    else:
        out.print("Trend classes: no change")
    if len(diff.rank_changes):
        def rank(value: float) -> str:
            return "—" if value != value else f"{value:.0f}"

        rows = [
            (str(r["name"]), rank(r["rank_a"]), rank(r["rank_b"]), rank(r["moved"]) if r["moved"] == r["moved"] else "new/gone")
            for _, r in diff.rank_changes.iterrows()
        ]
        out.print(_table("Concept ranks", ("concept", "rank before", "rank now", "moved"), rows))
    for name, (va, vb) in diff.model_changes.items():
        out.print(f"Model {name}: version {va or '—'} → {vb or '—'}")
    out.print(f"Decision: {diff.decision[0] or '—'} → {diff.decision[1] or '—'}")
