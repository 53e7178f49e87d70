"""supplyshock.exchange."""
