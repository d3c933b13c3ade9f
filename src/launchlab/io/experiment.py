"""The experiment file: a table of launch-experiment rows (one per unit, or per variant with
counts). Which columns mean what is the readout's business (:class:`~launchlab.incubation.ABConfig`),
so here only the file and the named columns are checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from launchlab import schemas as S
from launchlab.errors import InputError
from launchlab.io.contract import Loaded
from launchlab.io.reading import read_table


def load_experiment(path: str | Path, *, required: tuple[str, ...] = ()) -> Loaded:
    """Load a launch experiment table as is (one row per unit, or one row per variant).

    The incubation stage checks variants, metrics and units; here only the file and the
    ``required`` columns are checked.
    """
    return validate_experiment(read_table(path), source=str(path), required=required)


def validate_experiment(frame: pd.DataFrame, *, source: str = "<experiment>", required: tuple[str, ...] = ()) -> Loaded:
    """Check that the ``required`` columns exist and number the rows (``source_row``); the rows
    themselves are judged by the readout (:mod:`launchlab.incubation.experiment`)."""
    for column in required:
        if column and column not in frame.columns:
            raise InputError(
                f"column not found (columns: {', '.join(map(str, frame.columns[:20]))})",
                file=source,
                column=column,
                fix="name an existing column with the flag",
            )
    frame = frame.reset_index(drop=True).copy()
    frame[S.SOURCE_ROW] = np.arange(1, len(frame) + 1)
    empty = pd.DataFrame(columns=[S.SOURCE_ROW, S.REASON, *frame.columns])
    return Loaded(frame, empty, source, rows_in=len(frame))
