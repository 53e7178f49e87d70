"""Persistence for the exchange: SQLAlchemy models, engines and the unit of work, migrations.

SQLite (a file in the data directory) by default, PostgreSQL via psycopg 3 in production; the
URL comes from :func:`supplyshock.settings.get_settings`. Build the schema with
:func:`supplyshock.store.migrate.upgrade`, never with ``create_all``.
"""
