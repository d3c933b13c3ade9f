"""Errors meant for users: one clear sentence naming the file, row, column and the fix."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The CLI prints ``str(error)`` on one line and exits with code 2.

    ``row`` is the 1-based data row (the header is not counted), ``column`` the column name as
    it appears in the user's file.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = (", ".join(where) + ": " if where else "") + self.message.rstrip(".")
        if self.fix:
            text += f"; {self.fix.rstrip('.')}"
        return " ".join((text + ".").split())
