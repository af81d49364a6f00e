"""`python -m oneshot_tui` is the same as the `oneshot-tui` console script."""

from oneshot_tui.cli import main

raise SystemExit(main())
