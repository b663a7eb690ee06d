"""``python -m simperf``: the ``simperf`` command, where the console script is not on PATH."""

from __future__ import annotations

import sys

from simperf.cli import main

sys.exit(main())
