"""The simulator's names and limits, importable without its heavy parts (HiGHS, numpy,
matplotlib), so that the ``pcinet`` command starts fast."""

ALL_STRATEGIES = ("physnet-blind", "nova", "network-aware", "optimal")
MAX_HOSTS = 20_000
MAX_SERVERS = 1_000_000
DEFAULT_TIME_LIMIT_S = 300.0
