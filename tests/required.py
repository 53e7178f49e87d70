"""What a test run may skip: outside CI a missing PostgreSQL or shared/ is skipped loudly; in CI
(``CI=true``, or ``SUPPLYSHOCK_TEST_REQUIRE_POSTGRES=1`` set by ``tasks.py test``) it fails the
run, so an invariant that needs PostgreSQL can never land untested."""

from __future__ import annotations

import os
import warnings
from typing import NoReturn

import pytest


def required() -> bool:
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("SUPPLYSHOCK_TEST_REQUIRE_POSTGRES") == "1"
    )


def missing(reason: str) -> NoReturn:
    """Fail (CI) or skip loudly (elsewhere) because something the tests need is not there."""
    if required():
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    warnings.warn(reason, stacklevel=2)
    pytest.skip(reason)
