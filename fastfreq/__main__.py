"""``python -m fastfreq``: the same as the ``fastfreq`` command."""
import sys

from .apps.cli import main

sys.exit(main())
