"""One function per analysis use case, called the same way by the CLI, the API and the web.

Each owns its validation (:mod:`~supplyshock.services.requests`), its limits
(:mod:`~supplyshock.services.limits`) and its progress callback; the shells only parse, call
and render. Long work (a survival sweep, a Monte Carlo run) also runs as a job
(:mod:`supplyshock.jobs`), which calls the same functions. See docs/jobs.md.
"""
