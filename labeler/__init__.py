"""Labeler: data labeling with an active-learning loop.

The package is layered: everything outside ``labeler.gui`` is Qt-free.
"""

__version__ = "0.1.0"
