"""A real service to calibrate simperf against: gunicorn, Redis and PostgreSQL on loopback.

``app`` is the WSGI service, ``servers`` starts and stops PostgreSQL, Redis and gunicorn,
``loadgen`` sends open-loop Poisson traffic, ``bench`` runs the loads, calibrates from the
lowest and prints predicted against measured percentiles (``make realbench``);
``mechanism`` tabulates where the per-request overhead goes, from a saved log.
"""
