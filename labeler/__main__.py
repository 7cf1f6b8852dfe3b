from labeler.cli import main

raise SystemExit(main())
