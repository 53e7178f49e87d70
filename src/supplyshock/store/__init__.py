"""supplyshock.store."""
