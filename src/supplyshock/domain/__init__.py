"""supplyshock.domain."""
