"""``pcinet demo``: the seed scenario on a real controller, and what a physnet-blind
scheduler would have done with the same requests (``blind``)."""
