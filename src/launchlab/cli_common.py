"""Options and helpers the ``launchlab`` commands share (``cli`` and ``cli_incubate``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from launchlab.errors import InputError

OutDir = Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if missing).")]
# The experiment columns every `incubate` command on a launch test takes.
VariantCol = Annotated[str, typer.Option(help="Column naming the variant of each row.")]
MetricCol = Annotated[str, typer.Option(help="Outcome column (0/1, true/false or a number).")]
Control = Annotated[Optional[str], typer.Option(help="Control variant (default: 'control' or the first).")]
UnitCol = Annotated[Optional[str], typer.Option(help="Randomisation unit: units in several variants and repeats are quarantined.")]


def mapping(**columns: str | None) -> dict[str, str]:
    return {field: column for field, column in columns.items() if column}


def series_input(path: Path, mapping: dict[str, str], layout: str):
    """A series file as the stages take it; an unknown ``--layout`` is bad input, not a bug."""
    from pydantic import ValidationError

    from launchlab.config import SeriesInput

    try:
        return SeriesInput(path=path, mapping=mapping, layout=layout)
    except ValidationError:
        raise InputError(f"unknown layout {layout!r}", fix="use --layout auto, long, wide-periods or wide-series") from None
