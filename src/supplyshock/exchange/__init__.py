"""The anonymous stock exchange as a service layer: one function per use case.

Every service takes keyword-only ``session`` (and ``actor``, the calling
:class:`~supplyshock.exchange.schemas.Principal`), never commits — the caller's
:class:`~supplyshock.store.db.UnitOfWork` does — and appends to the audit log on every state
change. Refusals are :class:`~supplyshock.exchange.errors.ExchangeError` values with a code.
"""
