"""supplyshock.analysis."""
