"""supplyshock.web."""
