"""The pure domain of pcinet: no I/O, no clock, no unseeded randomness.

Everything else (scheduler, store, service, api, agent, cli) is built on these types.
"""
