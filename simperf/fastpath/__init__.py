"""The exact vectorised fast path for open workloads through FIFO stations.

For the specs :func:`plan` accepts, every request's times follow from vectorised
recursions (Lindley for one server, Kiefer-Wolfowitz for several) over the same random
streams the event engine draws from, so both give the same requests to rounding;
:func:`execute` leaves on the model what a run of the event engine would, for the
same summary code. Chosen by ``run.engine`` (see :func:`simperf.experiment.run.run`).
"""

from __future__ import annotations

from simperf.fastpath.chain import Refused, plan
from simperf.fastpath.engine import execute

__all__ = ["Refused", "execute", "plan"]
