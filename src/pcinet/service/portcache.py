"""What a server create reads about its ports, kept by this controller process so that the
common flow (create a port, then a server with it) does not read the port back.

- Ports this process created and no server has taken since (``remember`` after the port's
  transaction committed). A port's columns never change while no server holds it, but for
  its status and ``updated_at``, which attaching overwrites; so a remembered port is as good
  as a read one. ``forget`` when a server takes it, when it is deleted or its status set.
- Networks, once read, with their segments (a network's segments never change; a network
  with ports cannot be deleted). ``forget_network`` on delete.

Not a source of truth: whether a port is still free (or still exists: another replica may
have deleted it) is re-checked atomically by the placement's write (``PortInUse``), and
``service.servers`` then reads the ports again to answer precisely. Other replicas simply
read. Both maps are bounded (oldest first out).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# (network name, its segment rows in order): as ``store.ports.ports_with_segments`` gives.
NetworkEntry = tuple[str, list[Any]]

CAPACITY = 10_000


class PortCache:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._ports: OrderedDict[str, Any] = OrderedDict()
        self._networks: OrderedDict[str, NetworkEntry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def remember(self, port: Any) -> None:
        """A port (a ``store.ports.port_record``) just created, not attached."""
        with self._lock:
            self._put(self._ports, port.id, port)

    def remember_networks(self, networks: Mapping[str, NetworkEntry]) -> None:
        with self._lock:
            for network_id, entry in networks.items():
                self._put(self._networks, network_id, entry)

    def get(self, port_ids: Sequence[str]) -> tuple[dict[str, Any], dict[str, NetworkEntry]] | None:
        """Every port of ``port_ids`` and their networks, as ``ports_with_segments`` gives
        them; None unless all are known (then the caller reads them all)."""
        with self._lock:
            ports = {}
            networks: dict[str, NetworkEntry] = {}
            for port_id in port_ids:
                port = self._ports.get(port_id)
                network = None if port is None else self._networks.get(port.network_id)
                if port is None or network is None:
                    self.misses += 1
                    return None
                ports[port_id] = port
                networks[port.network_id] = network
            self.hits += 1
            return ports, networks

    def forget(self, port_ids: Iterable[str]) -> None:
        with self._lock:
            for port_id in port_ids:
                self._ports.pop(port_id, None)

    def forget_network(self, network_id: str) -> None:
        with self._lock:
            self._networks.pop(network_id, None)

    def clear(self) -> None:
        """Forget every port and network (the next creates read them)."""
        with self._lock:
            self._ports.clear()
            self._networks.clear()

    def __len__(self) -> int:
        return len(self._ports)

    def _put(self, entries: OrderedDict[str, Any], key: str, value: Any) -> None:
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > self.capacity:
            entries.popitem(last=False)
