"""The database cost model shared by ``simperf explain`` and the runtime database.

:mod:`.query_cost` (what a query costs from its table's size and indexes), :mod:`.mix` (which
queries a workload runs, and how often), :mod:`.buffer_pool` (buffer-pool hit ratios over
table pages) and :mod:`.explain` (the EXPLAIN plan built from them). The closed forms they
rest on (Che's approximation) live in :mod:`simperf.analysis`.
"""

from __future__ import annotations
