"""Jobs: long computations (survival sweeps, Monte Carlo runs) recorded in the database.

:mod:`~supplyshock.jobs.records` keeps the rows (state, progress, parameters, owner, result);
:mod:`~supplyshock.jobs.kinds` says what each kind runs (the services' functions);
:mod:`~supplyshock.jobs.pool` runs them in worker threads of any server process sharing the
database. See docs/jobs.md.
"""
