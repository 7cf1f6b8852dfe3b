"""The file formats of an export and their file suffixes."""

FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl", "label-studio": ".json"}
