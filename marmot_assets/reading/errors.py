"""Errors that tell a partner exactly what is wrong with what they sent."""

from __future__ import annotations


class SourceFileError(ValueError):
    """A file or response that cannot be loaded, located by file, row and column.

    ``row`` counts lines of the file as a person opening it would: the header is row 1,
    the first data row is row 2.
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.source = str(source)
        self.problem = problem
        self.row = row
        self.column = column
        where = [f"file {self.source}"]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {problem}")
