"""``python -m derivkit``: the command line."""

from derivkit.cli import main

raise SystemExit(main())
