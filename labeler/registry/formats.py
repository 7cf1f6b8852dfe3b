"""The file formats ``labeler predict`` writes."""

FORMATS = ("csv", "parquet", "jsonl")
