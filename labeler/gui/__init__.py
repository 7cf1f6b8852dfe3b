"""The desktop application (PySide6). Every Qt import of Labeler lives in this package.

A few modules here are Qt-free by design and tested without a display: ``session`` (the
annotation session's state) and ``annotation_ops`` (the store calls the GUI's worker runs).
"""
