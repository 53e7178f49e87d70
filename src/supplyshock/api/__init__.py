"""supplyshock.api."""
