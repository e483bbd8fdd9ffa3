"""Guest NUMA cells onto host cells: every mapping that can matter, each tried once.

The PCI side of a mapping depends only on *which* host cells it uses, and only through the
cells that hold a device some request could take (the *keyed* cells; under the ``socket``
policy also the cells on a socket holding such a device). So the search:

1. enumerates sets of keyed cells, not permutations; keyed cells with equal free vCPUs,
   memory, socket and device pools are interchangeable (swapping them maps the problem onto
   itself), so only how many of each such class are used is chosen;
2. completes each set with other cells by a bipartite matching of guest cells to host cells
   that covers the keyed set (every plain cell is as good as any other for the PCI fit);
3. yields the set's *key* (keyed cells used, sockets used) with one concrete mapping, and
   skips a key contained in one already yielded: the PCI fit only gains devices (and
   locality) as the key grows, so such a key can neither fit where a larger one failed
   nor fit better where one fitted.

Sets with more keyed cells come first, so the first keys tend to be maximal. For 8 cells the
search sees at most 256 sets; every step is charged to the host's ``Budget``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from pcinet.core.flavor import GuestCell
from pcinet.scheduler.budget import Budget
from pcinet.scheduler.snapshot import CellState

Key = tuple[frozenset[int], frozenset[int]]


@dataclass(frozen=True, slots=True)
class CellChoice:
    """One mapping: ``cells[g]`` is the host cell id of guest cell ``g``."""

    key: Key
    cells: tuple[int, ...]


def cell_choices(
    cells: Sequence[CellState],
    guest: Sequence[GuestCell],
    profiles: Mapping[int, Hashable],
    socket_keys: frozenset[int],
    budget: Budget,
) -> Iterator[CellChoice]:
    """Mappings of ``guest`` onto distinct ``cells`` that fit their free vCPUs and memory,
    one per distinct, undominated key. ``profiles`` maps the id of each cell holding a
    relevant device to its device profile (equal profiles: interchangeable pools);
    ``socket_keys`` are the sockets that matter to ``socket``-policy requests."""
    k = len(guest)
    if k == 1:
        yield from _single_cell(cells, guest[0], profiles, socket_keys, budget)
        return
    classes: dict[Hashable, list[int]] = {}
    plain: list[int] = []
    for pos, cell in enumerate(cells):
        keyed = cell.id in profiles or (cell.socket is not None and cell.socket in socket_keys)
        if not keyed:
            plain.append(pos)
            continue
        socket = cell.socket if cell.socket in socket_keys else None
        profile = profiles.get(cell.id)
        classes.setdefault((cell.vcpus, cell.memory_mb, socket, profile), []).append(pos)
    members = list(classes.values())
    fits = [[c.vcpus >= g.vcpus and c.memory_mb >= g.memory_mb for c in cells] for g in guest]
    yielded: list[Key] = []
    chosen: list[int] = []

    def leaves(i: int) -> Iterator[list[int]]:
        budget.charge(10)
        if i == len(members):
            yield list(chosen)
            return
        room = k - len(chosen)
        for m in range(min(room, len(members[i])), -1, -1):
            chosen.extend(members[i][:m])
            yield from leaves(i + 1)
            del chosen[len(chosen) - m :]

    for used in leaves(0):
        if k - len(used) > len(plain):
            continue
        key = (
            frozenset(cells[p].id for p in used if cells[p].id in profiles),
            frozenset(s for p in used if (s := cells[p].socket) is not None and s in socket_keys),
        )
        if any(key[0] <= y[0] and key[1] <= y[1] for y in yielded):
            continue
        budget.charge(k * k * (len(used) + len(plain)) + len(yielded))
        mapping = _match(fits, used, plain)
        if mapping is None:
            continue
        yielded.append(key)
        yield CellChoice(key, tuple(cells[p].id for p in mapping))


def _single_cell(
    cells: Sequence[CellState],
    guest: GuestCell,
    profiles: Mapping[int, Hashable],
    socket_keys: frozenset[int],
    budget: Budget,
) -> Iterator[CellChoice]:
    """``cell_choices`` for a guest of one cell: each keyed cell it fits, one per profile
    (and socket), then, only if none fits, the first plain cell it fits (whose key, empty,
    is contained in any other)."""
    budget.charge(10 * len(cells))
    seen: set[Hashable] = set()
    plain: CellState | None = None
    for cell in cells:
        if cell.vcpus < guest.vcpus or cell.memory_mb < guest.memory_mb:
            continue
        socket = cell.socket if cell.socket is not None and cell.socket in socket_keys else None
        if cell.id not in profiles and socket is None:
            plain = plain or cell
            continue
        kind = (cell.vcpus, cell.memory_mb, socket, profiles.get(cell.id))
        if kind not in seen:
            seen.add(kind)
            sockets = frozenset() if socket is None else frozenset({socket})
            key = (frozenset({cell.id} & profiles.keys()), sockets)
            yield CellChoice(key, (cell.id,))
    if not seen and plain is not None:
        yield CellChoice((frozenset(), frozenset()), (plain.id,))


def guest_fits(cells: Sequence[tuple[int, int]], guest: Sequence[GuestCell]) -> bool:
    """Whether ``guest``'s cells go on distinct host cells of these free (vCPUs, memory MB),
    devices aside: exactly when ``cell_choices`` yields a mapping (within its budget)."""
    fits = [[v >= g.vcpus and m >= g.memory_mb for v, m in cells] for g in guest]
    return _match(fits, [], list(range(len(cells)))) is not None


def _match(fits: list[list[bool]], keyed: list[int], plain: list[int]) -> list[int] | None:
    """A mapping of every guest cell to a distinct cell of ``keyed + plain`` that uses every
    cell of ``keyed``, or None. Matching the keyed cells first and then every guest cell by
    augmenting paths keeps matched cells matched (Mendelsohn-Dulmage), so both hold."""
    k = len(fits)
    order = keyed + plain
    cell_of = [-1] * k  # guest -> position in order
    guest_of = [-1] * len(order)

    def from_guest(g: int, seen: set[int]) -> bool:
        for j, pos in enumerate(order):
            if fits[g][pos] and j not in seen:
                seen.add(j)
                if guest_of[j] == -1 or from_guest(guest_of[j], seen):
                    guest_of[j] = g
                    cell_of[g] = j
                    return True
        return False

    def from_cell(j: int, seen: set[int]) -> bool:
        for g in range(k):  # a free guest cell first: keeps the mapping in order
            if fits[g][order[j]] and cell_of[g] == -1:
                cell_of[g] = j
                guest_of[j] = g
                return True
        for g in range(k):
            if fits[g][order[j]] and g not in seen:
                seen.add(g)
                if cell_of[g] == -1 or from_cell(cell_of[g], seen):
                    cell_of[g] = j
                    guest_of[j] = g
                    return True
        return False

    for j in range(len(keyed)):
        if not from_cell(j, set()):
            return None
    for g in range(k):
        if cell_of[g] == -1 and not from_guest(g, set()):
            return None
    return [order[cell_of[g]] for g in range(k)]
