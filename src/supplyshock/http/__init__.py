"""Request plumbing shared by the API and the web pages: limits, database admission and retries,
and the JSON error shape. The shells (api/, web/) build on it; :mod:`supplyshock.server` wires
it into one application."""
