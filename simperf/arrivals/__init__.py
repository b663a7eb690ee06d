"""Arrival-time generators: exact Poisson, time-varying and Markov-modulated streams.

Every generator returns an endless iterator of absolute arrival times (seconds, increasing,
all after ``t = 0``). Times are drawn as numpy batches and handed out as Python floats, so
an arrival loop pays one ``next(it)`` per request and nothing else. Each generator takes the
``numpy.random.Generator`` of its purpose (see :mod:`simperf.rng`) and gives the same times
for the same generator state.

All profiles are exact, not approximations by windows:

- :func:`piecewise_times` maps a unit-rate Poisson process through the inverse of the
  integrated rate (zero-rate segments simply receive no arrivals);
- :func:`diurnal_times` thins a Poisson process at the peak rate (Lewis and Shedler);
- :func:`mmpp2_times` alternates exponential sojourns and draws a Poisson count with
  uniform positions in each one.

A rate of zero everywhere gives an empty iterator, and a non-periodic piecewise profile
whose last rate is zero gives a finite one: arrival loops should use ``next(it, None)``
(or ``for t in it``) rather than assume the stream never ends.

Scaling the load
----------------
Specs keep ``rate`` as the long-run mean of every profile, so a what-if that scales the
load multiplies every rate of the profile by ``target / current_mean``:

- piecewise: :func:`profile_mean_rate` gives the current mean and :func:`scaled_profile`
  returns the rescaled rates;
- diurnal: ``mean_rate`` is already the mean (the cosine averages to zero over a period);
- MMPP-2: multiply both rates by ``target / mmpp2_mean_rate(...)``; the sojourns (the
  burst timing) are unchanged and ``index of dispersion - 1`` scales by the same factor.
"""

from __future__ import annotations

from simperf.arrivals.diurnal import diurnal_cumulative, diurnal_times
from simperf.arrivals.homogeneous import deterministic_times, poisson_times
from simperf.arrivals.mmpp import mmpp2_index_of_dispersion, mmpp2_mean_rate, mmpp2_times
from simperf.arrivals.piecewise import (
    piecewise_cumulative,
    piecewise_times,
    profile_mean_rate,
    scaled_profile,
)

__all__ = [
    "deterministic_times",
    "diurnal_cumulative",
    "diurnal_times",
    "mmpp2_index_of_dispersion",
    "mmpp2_mean_rate",
    "mmpp2_times",
    "piecewise_cumulative",
    "piecewise_times",
    "poisson_times",
    "profile_mean_rate",
    "scaled_profile",
]
