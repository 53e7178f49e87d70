"""The limits of every analysis request, in one place: the CLI, the API, the web pages and the
job queue all read them from here, so a run refused on one is refused on all."""

from __future__ import annotations

#: Monte Carlo draws per assumption set. The lower bound keeps quantiles meaningful; the upper
#: one bounds a job's memory (``runs x products`` floats per statistic) and its run time.
MIN_RUNS = 10
MAX_RUNS = 100_000
#: Days simulated, and the survival horizon (days past which a finite TTS is "at least").
MAX_HORIZON_DAYS = 3650
#: Assumption sets compared in one Monte Carlo run (the base one included).
MAX_ASSUMPTION_SETS = 8
#: Worker processes one request may ask for on the machine that runs it.
MAX_WORKERS = 64
#: Disruptions named in one survival request (``only``); a full sweep has no list.
MAX_NODES = 5_000
#: Length of a scenario, assumption-set, node or measure name.
MAX_NAME = 200
#: Jobs one owner may have queued or running at once: a member cannot fill the queue.
MAX_ACTIVE_JOBS = 4
