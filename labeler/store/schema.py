"""Table definitions (SQLAlchemy Core). The Alembic migrations create and evolve these tables.

Every table carries ``project_id`` so several projects can share one PostgreSQL database.
Label events are append-only; ``sample_state`` is a projection derived from them, updated
in the same transaction as each event and rebuildable from the events at any time.
"""

from __future__ import annotations

import sqlalchemy as sa

# 64-bit keys on PostgreSQL, rowid-aliased INTEGER PRIMARY KEY on SQLite (autoincrement works there).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

project = sa.Table(
    "project",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("modality", sa.String(20), nullable=False),
    sa.Column("task_type", sa.String(20), nullable=False),
    sa.Column("settings", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

label_def = sa.Table(
    "label_def",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("shortcut", sa.String(20), nullable=True),
    sa.UniqueConstraint("project_id", "name", name="uq_label_def_name"),
)

import_batch = sa.Table(
    "import_batch",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("file_hash", sa.String(64), nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

sample = sa.Table(
    "sample",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column("external_id", sa.String(300), nullable=False),
    # Not indexed: the importer deduplicates against an in-memory set of the project's hashes,
    # under the import lock (SQLite's write lock; a PostgreSQL advisory lock per project).
    # An index here would double the cost of a bulk import and is never used for lookups.
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("file_ref", sa.Text, nullable=True),
    sa.Column("data", sa.Text, nullable=True),  # JSON object of tabular fields
    sa.Column("vector", sa.LargeBinary, nullable=True),  # float32 embedding, little-endian
    sa.Column("import_batch_id", BigId, sa.ForeignKey("import_batch.id"), nullable=False),
    sa.UniqueConstraint("project_id", "external_id", name="uq_sample_external_id"),
)

label_event = sa.Table(
    "label_event",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sample_id", BigId, sa.ForeignKey("sample.id"), nullable=False),
    sa.Column("annotator", sa.String(200), nullable=False),
    # label | skip | flag | undo | redo | adjudicate
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("labels", sa.Text, nullable=True),  # JSON list of label names
    sa.Column("target_event_id", BigId, sa.ForeignKey("label_event.id"), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("time_spent_ms", sa.Integer, nullable=True),
    sa.Column("model_version", sa.Integer, nullable=True),
    sa.Column("strategy", sa.String(50), nullable=True),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("session", sa.String(64), nullable=True),
    sa.Index("ix_label_event_sample", "project_id", "sample_id"),
    sa.Index("ix_label_event_annotator", "project_id", "annotator", "id"),
)

sample_state = sa.Table(
    "sample_state",
    metadata,
    sa.Column("sample_id", BigId, sa.ForeignKey("sample.id"), primary_key=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # labeled | skipped | unlabeled
    sa.Column("labels", sa.Text, nullable=True),  # JSON list, current (derived) labels
    sa.Column("annotator", sa.String(200), nullable=True),  # who gave the current labels
    sa.Column("event_id", BigId, nullable=True),  # event that gave the current labels
    sa.Column("n_annotators", sa.Integer, nullable=False, server_default="0"),
    sa.Column("disagreement", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("adjudicated", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("flagged", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_sample_state_status", "project_id", "status"),
)

# --- active-learning engine (migration 0002) ---------------------------------------------

model_run = sa.Table(
    "model_run",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=True),  # null for failed runs
    sa.Column("status", sa.String(20), nullable=False),  # ok | failed
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Column("label_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("strategy", sa.String(50), nullable=True),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("metrics", sa.Text, nullable=False, server_default="{}"),
    sa.Column("durations", sa.Text, nullable=False, server_default="{}"),
    sa.Column("artifact", sa.Text, nullable=True),  # relative to the project's folder
    sa.Column("error", sa.Text, nullable=True),
    # migration 0008: the model file's SHA-256, taken when it was saved
    sa.Column("artifact_sha256", sa.String(64), nullable=True),
    # migration 0009c: the MLflow run this retrain logged (projects with a tracking URI)
    sa.Column("mlflow_run_id", sa.String(64), nullable=True),
    sa.Index("ix_model_run_version", "project_id", "model_version"),
)

queue_item = sa.Table(
    "queue_item",
    metadata,
    sa.Column(
        "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sample_id", BigId, sa.ForeignKey("sample.id"), primary_key=True),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("strategy", sa.String(50), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=True),
    sa.Index("ix_queue_item_rank", "project_id", "rank"),
)

prediction = sa.Table(
    "prediction",
    metadata,
    sa.Column(
        "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sample_id", BigId, sa.ForeignKey("sample.id"), primary_key=True),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("labels", sa.Text, nullable=False),  # JSON list of predicted labels
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("probabilities", sa.Text, nullable=True),  # JSON {label: p}
    sa.Column("out_of_fold", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_prediction_confidence", "project_id", "confidence"),
)

# migration 0009a: the newest model's prediction for every sample of the unlabeled pool, packed
# (a 1M-row table rewritten by every retrain costs ~20 s on SQLite; three arrays cost ~0.4 s).
# Arrays little-endian, most confident first: sample_ids int64, predicted (single-label: the
# uint16 index into ``classes``; multi-label: one bit per class, ``numpy.packbits`` rows),
# confidence float32.
pool_prediction = sa.Table(
    "pool_prediction",
    metadata,
    sa.Column(
        "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("classes", sa.Text, nullable=False),  # JSON list: what predicted indexes name
    sa.Column("multi_label", sa.Boolean, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("sample_ids", sa.LargeBinary, nullable=False),
    sa.Column("predicted", sa.LargeBinary, nullable=False),
    sa.Column("confidence", sa.LargeBinary, nullable=False),
)

export_snapshot = sa.Table(
    "export_snapshot",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # migration 0005: "writing" while the export runs (the version is reserved), then "done"
    sa.Column("state", sa.String(20), nullable=False, server_default="done"),
    sa.UniqueConstraint("project_id", "version", name="uq_export_snapshot_version"),
)

# --- team mode (migration 0003) --------------------------------------------------------------

sample_claim = sa.Table(
    "sample_claim",
    metadata,
    sa.Column(
        "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sample_id", BigId, sa.ForeignKey("sample.id"), primary_key=True),
    sa.Column("annotator", sa.String(200), nullable=False),
    sa.Column("claimed_at", sa.DateTime, nullable=False),  # claimed or last renewed
    sa.Column("expires_at", sa.DateTime, nullable=False),
    # migration 0006: the app session holding the claim (null: claimed by an older version)
    sa.Column("session", sa.String(64), nullable=True),
    sa.Index("ix_sample_claim_annotator", "project_id", "annotator"),
)

# --- one trainer per project (migration 0007) --------------------------------------------------

model_version = sa.Table(
    "model_version",
    metadata,
    sa.Column(
        "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("state", sa.String(20), nullable=False),  # reserved | done | abandoned
    sa.Column("trainer", sa.String(200), nullable=True),  # who trained it
    sa.Column("reserved_at", sa.DateTime, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=True),  # of the saved model
)

# --- model artifacts in the database (migration 0009b) -------------------------------------

# The bytes of each saved model pipeline, keyed by their SHA-256, for projects on PostgreSQL:
# every member's app loads (and pushes) the current model whatever machine trained it.
model_artifact = sa.Table(
    "model_artifact",
    metadata,
    sa.Column(
        "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

train_lease = sa.Table(
    "train_lease",
    metadata,
    sa.Column(
        "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("holder", sa.String(200), nullable=True),  # who is training (null: nobody)
    sa.Column("session", sa.String(64), nullable=True),
    sa.Column("since", sa.DateTime, nullable=True),
    sa.Column("pending", sa.Boolean, nullable=False, server_default=sa.false()),
)

# --- review (migration 0004) ---------------------------------------------------------------

suspected_error = sa.Table(
    "suspected_error",
    metadata,
    sa.Column(
        "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sample_id", BigId, sa.ForeignKey("sample.id"), primary_key=True),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("given", sa.Text, nullable=False),  # JSON list: the label the sample carries
    sa.Column("suggested", sa.Text, nullable=False),  # JSON list: what the model believes
    sa.Column("p_given", sa.Float, nullable=False),
    sa.Column("p_suggested", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),  # p_suggested - p_given, higher = clearer
    sa.Index("ix_suspected_error_score", "project_id", "score"),
)

# --- drift per import batch (migration 0009c) ----------------------------------------------

batch_drift = sa.Table(
    "batch_drift",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "import_batch_id",
        BigId,
        sa.ForeignKey("import_batch.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("checked_at", sa.DateTime, nullable=False),
    sa.Column("level", sa.String(20), nullable=False),  # none | moderate | strong | unknown | n/a
    sa.Column("method", sa.String(20), nullable=True),  # psi | domain-auc
    sa.Column("score", sa.Float, nullable=True),  # the largest significant PSI, or the AUC
    sa.Column("n_reference", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_batch", sa.Integer, nullable=False, server_default="0"),
    sa.Column("feature", sa.Text, nullable=True),  # PSI: the most shifted feature
    # the newest label event when checked: the reference (labeled earlier samples) it saw
    sa.Column("reference_event", BigId, nullable=True),
    sa.Column("line", sa.Text, nullable=False),  # "drift: strong (AUC 0.81)"
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),  # JSON: per feature
    sa.Index("ix_batch_drift_batch", "project_id", "import_batch_id"),
)

# --- counts at scale (migration 0009) ---------------------------------------------------------

# How many samples of a project are in each (status, labels, flagged) state, kept by database
# triggers on ``sample_state`` in the transaction that changes it: the counts the annotate
# view shows cost a read of a few rows, whatever the size of the project. SQLite keeps one
# row per state; PostgreSQL appends signed delta rows (no row is shared between concurrent
# writers, so they never wait on each other) that readers sum and now and then fold
# (:mod:`labeler.store.tally`).
state_tally = sa.Table(
    "state_tally",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("labels", sa.Text, nullable=False),  # sample_state.labels, '' for none
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Index("ix_state_tally_project", "project_id", "status", "labels", "flagged"),
)
