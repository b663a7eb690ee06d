"""``python -m simperf``: the ``simperf`` command, for environments without the script on PATH."""

from __future__ import annotations

import sys

from simperf.cli import main

sys.exit(main())
