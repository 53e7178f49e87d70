"""Monte Carlo of export-control futures: when each line stops, and with what odds.

``assumptions`` models a scenario's assumptions (files are read by
:mod:`supplyshock.services.assumptions`), ``model`` compiles network + registry +
assumptions into arrays, ``engine`` draws futures vectorised with NumPy, ``reference`` is the
same semantics as a SimPy discrete-event simulation, ``sweep`` runs many scenarios on Dask and
``plot`` draws the results. See ``docs/montecarlo.md``.
"""
