"""supplyshock: export controls, supply networks and an anonymous stock exchange."""

__version__ = "0.1.0"
