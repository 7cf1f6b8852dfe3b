"""The active-learning engine (Qt-free): features, models, query strategies, retraining jobs,
and the ``simulate`` replay. Entry points: :func:`labeler.learning.training.train_once` and
:class:`labeler.learning.jobs.RetrainScheduler`."""
