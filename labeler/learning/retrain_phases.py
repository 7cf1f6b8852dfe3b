"""Named phases of a retrain, read from the worker's ``(done, total)`` progress events.

:func:`labeler.learning.training.train_once` reports progress on one 0..100 scale: features
up to 40, cross-validation and the final fit up to 70, ranking the pool up to 90, then the
predictions and the saved model. :data:`PHASES` names those stretches once, so a face (the
annotate view's retrain bar) shows "fitting 55%" instead of a bare number, and a change of
the scale is made here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

# The engine's "cannot fit yet" failures (:func:`labeler.learning.fitting.check_trainable`):
# expected during cold start, so a face reports them as a hint, not as an alarm.
TOO_FEW_CLASSES = "need labels of at least two classes"
NO_VARYING_LABEL = "need at least one label that is both present and absent"


def cannot_fit_yet(error: str) -> bool:
    """Whether a failed retrain's error is the engine's "too few classes labeled" one."""
    return TOO_FEW_CLASSES in error or NO_VARYING_LABEL in error


@dataclass(frozen=True)
class Phase:
    name: str  # features | fitting | scoring | saving
    start: int  # percent at which it begins
    end: int  # percent at which it ends
    text: str  # what the annotator reads


PHASES: tuple[Phase, ...] = (
    Phase("features", 0, 40, "computing features"),
    Phase("fitting", 40, 70, "fitting the model"),
    Phase("scoring", 70, 90, "scoring the pool"),
    Phase("saving", 90, 100, "saving the model"),
)


@dataclass(frozen=True)
class RetrainProgress:
    phase: Phase
    percent: int  # of the whole retrain, 0..100

    @property
    def text(self) -> str:
        return f"Retraining: {self.phase.text} ({self.percent}%)"


def progress_of(done: int, total: int | None) -> RetrainProgress:
    """The phase a progress event falls in, and the overall percent."""
    percent = 0 if not total else max(0, min(100, round(100 * done / total)))
    for phase in PHASES:
        if percent < phase.end:
            return RetrainProgress(phase, percent)
    return RetrainProgress(PHASES[-1], percent)
