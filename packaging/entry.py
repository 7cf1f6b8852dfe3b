"""Entry point of the packaged app: the same ``labeler`` command line (no command = the GUI)."""

import multiprocessing
import sys

from labeler.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the retrain worker process is spawned from this binary
    sys.exit(main())
