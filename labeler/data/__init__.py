"""Data in and out of projects: readers, the importer, demo datasets (Qt-free)."""
