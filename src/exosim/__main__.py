"""``python -m exosim``."""

from exosim.cli import main

raise SystemExit(main())
