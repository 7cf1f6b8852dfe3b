import multiprocessing

multiprocessing.freeze_support()  # a frozen (PyInstaller) build runs its spawned workers here

from labeler.cli import main  # noqa: E402

raise SystemExit(main())
