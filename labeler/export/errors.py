"""Errors of dataset export, shown to users as one line."""

from labeler.errors import LabelerError


class ExportError(LabelerError):
    """An export cannot be written (bad format or path, or data the format cannot hold)."""
