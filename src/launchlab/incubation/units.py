"""Unit-level data of one treatment arm against control, for segment effects and uplift models.

The A/B readout works on per-arm summaries; segment effects and uplift models need the units
themselves with their covariates. :func:`split_arms` takes a unit-level experiment frame, keeps
the rows of the control and of the treatment arms asked for, and quarantines rows it cannot
use (missing variant, outcome or covariate) with a reason, so rows in = used + quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from launchlab.errors import InputError
from launchlab.incubation.config import ExperimentColumns
from launchlab.incubation.experiment import coerce_covariate, coerce_metric, variant_labels
from launchlab.schemas import REASON, SOURCE_ROW


@dataclass
class Arms:
    """Unit-level data of an experiment, cleaned.

    ``frame`` holds the usable rows (original columns, original index) of the control and the
    treatments; ``variant`` their arm labels (strings) and ``y`` their outcome (floats);
    ``binary`` tells whether the outcome is 0/1; ``quarantine`` the rows set aside with a
    ``reason`` column; ``rows_other_arms`` counts usable rows of arms not asked for, so
    ``rows_in = len(frame) + len(quarantine) + rows_other_arms``.
    """

    frame: pd.DataFrame
    variant: pd.Series
    y: pd.Series
    control: str
    treatments: list[str]
    binary: bool
    quarantine: pd.DataFrame
    rows_in: int
    rows_other_arms: int

    def pair(self, treatment: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Rows of ``treatment`` and control: covariate frame, outcome, 1 = treated / 0 = control."""
        keep = self.variant.isin([treatment, self.control]).to_numpy()
        t = (self.variant[keep] == treatment).to_numpy().astype(np.int8)
        return self.frame[keep], self.y[keep].to_numpy(dtype=float), t


def split_arms(
    data: pd.DataFrame,
    columns: ExperimentColumns,
    *,
    covariates: list[str] | None = None,
    treatments: list[str] | None = None,
    source: str = "<experiment>",
) -> Arms:
    """Clean a unit-level experiment for per-unit analyses.

    Covariates written as text are read as numbers when every filled cell is one
    (:func:`~launchlab.incubation.experiment.coerce_covariate`). Rows with a missing arm label,
    a missing outcome, a missing value in one of ``covariates``,
    or an arm that is neither the control nor one of ``treatments`` (None: every arm) are set
    aside; the first three are quarantined with a reason, rows of arms not asked for are simply
    left out. Raises :class:`InputError` for a missing column, a single arm, an unknown control
    or treatment, or text in the outcome.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    needed = [("variant_col", columns.variant_col), ("metric_col", columns.metric_col)]
    needed += [("segment or covariate columns", c) for c in covariates or []]
    available = ", ".join(repr(c) for c in data.columns if c != SOURCE_ROW)
    for option, col in needed:
        if col not in data.columns:
            raise InputError(f"missing column {col!r} (available columns: {available})", file=source, column=col,
                             fix=f"pass {option} naming a column of the file")
    data = data.reset_index(drop=True)
    if covariates:
        data = data.assign(**{col: coerce_covariate(data[col]) for col in dict.fromkeys(covariates)})
    if len(data) == 0:
        raise InputError("the experiment has no rows", file=source, fix="check the file and its filters")
    variant = variant_labels(data[columns.variant_col])
    labels = sorted(str(v) for v in variant.dropna().unique())
    if columns.control is not None:
        if columns.control not in labels:
            raise InputError(f"control variant {columns.control!r} is not among the variants {labels}", file=source,
                             column=columns.variant_col, fix="pass control= with one of these labels")
        control = columns.control
    elif "control" in labels:
        control = "control"
    elif labels:
        control = labels[0]
    else:
        control = ""
    others = [v for v in labels if v != control]
    if not others:
        raise InputError(f"only one variant ({', '.join(labels) or 'none'}) found; a treatment arm is needed",
                         file=source, column=columns.variant_col,
                         fix="check that variant_col names the assignment column")
    if treatments is not None:
        unknown = [t for t in treatments if t not in others]
        if unknown:
            raise InputError(f"treatment {unknown[0]!r} is not among the treatment arms {others}", file=source,
                             column=columns.variant_col, fix="pass one of these labels")
        others = list(treatments)

    y, _ = coerce_metric(data, columns.metric_col, source)
    reasons = pd.Series(pd.NA, index=data.index, dtype="object")
    reasons[variant.isna()] = f"missing variant in column {columns.variant_col!r}"
    reasons[reasons.isna() & y.isna()] = f"missing value in metric column {columns.metric_col!r}"
    for col in covariates or []:
        reasons[reasons.isna() & data[col].isna()] = f"missing value in column {col!r}"
    wanted = variant.isin([control, *others]).fillna(False).astype(bool)
    quarantined = reasons.notna()
    used = wanted & ~quarantined
    for arm in [control, *others]:
        if int((used & (variant == arm)).sum()) < 2:
            raise InputError(f"variant {arm!r} has fewer than 2 usable units", file=source,
                             column=columns.variant_col, fix="see the quarantine for why its rows were set aside")
    quarantine = data[quarantined].copy()
    quarantine[REASON] = reasons[quarantined].astype(str)
    yv = y[used]
    binary = bool(np.isin(yv.to_numpy(), (0.0, 1.0)).all())
    return Arms(
        frame=data[used], variant=variant[used].astype(str), y=yv, control=control, treatments=others,
        binary=binary, quarantine=quarantine.reset_index(drop=True), rows_in=len(data),
        rows_other_arms=int((~wanted & ~quarantined).sum()),
    )
