"""Review mode (Qt): :class:`ReviewView` is the widget the main window embeds."""

from labeler.gui.review.review_view import ReviewView

__all__ = ["ReviewView"]
