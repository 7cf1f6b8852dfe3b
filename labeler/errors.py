"""Errors that reach users. Each carries a one-line message naming what is wrong."""

from __future__ import annotations


class LabelerError(Exception):
    """Base class for every error shown to a user as one line (CLI) or a dialog (GUI)."""


class ProjectError(LabelerError):
    """The project cannot be created, found or opened."""


class DataImportError(LabelerError):
    """A file failed validation; nothing was written.

    ``file``, ``row`` (1-based data row, header excluded) and ``column`` locate the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = message
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)

    def __reduce__(self) -> tuple[object, ...]:  # picklable (raised in the import's parser process)
        return (_import_error, (self.reason, self.file, self.row, self.column))


def _import_error(
    message: str, file: str | None, row: int | None, column: str | None
) -> DataImportError:
    return DataImportError(message, file=file, row=row, column=column)


class LabelError(LabelerError):
    """A label event is invalid (unknown label, unknown sample, nothing to undo)."""


class Cancelled(LabelerError):
    """A long operation was cancelled by the user; nothing was written."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
