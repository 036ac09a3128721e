"""``python -m synthdiv``: the ``synthdiv`` command (:mod:`workbench.cli`), for environments where
the console script is not on PATH."""

import sys

from workbench.cli import main

sys.exit(main())
