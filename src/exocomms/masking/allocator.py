"""Choosing a virtual number for a pair: edge colouring with as few numbers as possible.

Participants are vertices, each live pair with a number is an edge coloured by that number.
The rule (Twilio Proxy's) is that a participant never holds one number twice: a proper edge
colouring. A pair that already has a live edge reuses it (several orders between the same
customer and rider share one number: whoever calls reaches the same person, so routing by
``(caller, number)`` stays unambiguous, and parallel edges never cost extra numbers).

Order of preference for a new pair ``(a, b)``:

1. the pair's live edge, if any (``existing``);
2. ``sticky``: the pair's previous number, if free for both;
3. the first number of the palette ``P_k`` (the first ``k`` pool numbers, ``k`` = the largest
   degree after adding the edge) free for both (``free``);
4. an alternating-path (Kempe chain) recolouring inside ``P_k``: take α free at ``a`` and β
   free at ``b``, swap α/β along the path that starts at ``b`` with its α edge, then use α
   (``recoloured``). Only edges whose sessions were never *revealed* may move, because a
   party who was told a number must keep it;
5. the first pool number free for both (``greedy``), then Kempe on the whole pool;
6. otherwise ``pin``: no number is free for both (one party holds every number, or the free
   sets are disjoint and no recolouring is allowed); the session uses PIN masking.

Guarantees (pool large enough, insertions only, no sticky preference):

* **Bipartite load** (e.g. only customer↔rider sessions) with every edge movable: at most Δ
  distinct numbers are ever used, Δ being the largest number of live pairs of one participant
  (König's theorem; the α/β path from ``b`` cannot reach ``a`` in a bipartite graph).
* **Any load** (a triangle customer–rider–vendor of one order is not bipartite; revealed edges
  may not move): at most 2Δ−1 numbers, since steps 3 and 5 are first-fit in pool order.
* PIN fallback happens only when no number of the pool is free for both parties after the
  allowed recolouring; with all edges movable on a bipartite load that is exactly when one
  party's live pairs would exceed the pool size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Reason = Literal["existing", "sticky", "free", "recoloured", "greedy", "pin"]


@dataclass(frozen=True)
class Edge:
    """A live pair and its number; ``movable`` when none of its sessions was revealed."""

    a: str
    b: str
    number: str
    movable: bool = False

    def other(self, participant: str) -> str:
        """The endpoint that is not ``participant``."""
        return self.b if participant == self.a else self.a


@dataclass(frozen=True)
class Move:
    """Recolour the live pair ``(a, b)`` from ``old`` to ``new``."""

    a: str
    b: str
    old: str
    new: str


@dataclass(frozen=True)
class Allocation:
    """The decision: a number (None means PIN masking) and the recolourings it needs."""

    number: str | None
    reason: Reason
    moves: tuple[Move, ...] = ()


class Graph:
    """Live pairs indexed by participant and number (a proper edge colouring)."""

    def __init__(self, edges: Iterable[Edge]) -> None:
        self.at: dict[str, dict[str, Edge]] = defaultdict(dict)
        self.pairs: dict[frozenset[str], Edge] = {}
        for edge in edges:
            if edge.a == edge.b:
                raise ValueError("an edge needs two distinct participants")
            for end in (edge.a, edge.b):
                if edge.number in self.at[end]:
                    raise ValueError(f"participant holds {edge.number} twice")
                self.at[end][edge.number] = edge
            self.pairs[frozenset((edge.a, edge.b))] = edge

    def degree(self, participant: str) -> int:
        """How many numbers ``participant`` holds."""
        return len(self.at.get(participant, {}))

    def max_degree(self) -> int:
        """Δ: the largest degree."""
        return max((len(held) for held in self.at.values()), default=0)

    def free(self, participant: str, number: str) -> bool:
        """True if ``participant`` does not hold ``number``."""
        return number not in self.at.get(participant, {})


def allocate(
    pool: Sequence[str],
    edges: Iterable[Edge],
    a: str,
    b: str,
    *,
    sticky: str | None = None,
    recolour: bool = True,
) -> Allocation:
    """Choose the number for a new session between ``a`` and ``b``.

    Args:
        pool: Active numbers in preference order (earlier numbers are filled first).
        edges: Live pairs (one per pair) with their numbers.
        a, b: The two participants (distinct).
        sticky: The pair's previous number, preferred when free for both.
        recolour: Allow moving unrevealed pairs to make room (Kempe chains).

    Returns:
        The decision; ``number`` None means PIN masking.
    """
    if a == b:
        raise ValueError("a session needs two distinct participants")
    graph = Graph(edges)
    existing = graph.pairs.get(frozenset((a, b)))
    if existing is not None:
        return Allocation(existing.number, "existing")
    if sticky is not None and sticky in pool and graph.free(a, sticky) and graph.free(b, sticky):
        return Allocation(sticky, "sticky")
    k = max(graph.max_degree(), graph.degree(a) + 1, graph.degree(b) + 1)
    palette = list(pool[:k])
    for number in palette:
        if graph.free(a, number) and graph.free(b, number):
            return Allocation(number, "free")
    if recolour:
        found = _kempe(graph, palette, a, b)
        if found is not None:
            return found
    for number in pool[k:]:
        if graph.free(a, number) and graph.free(b, number):
            return Allocation(number, "greedy")
    if recolour and len(pool) > k:
        found = _kempe(graph, list(pool), a, b)
        if found is not None:
            return found
    return Allocation(None, "pin")


def _kempe(graph: Graph, palette: list[str], a: str, b: str) -> Allocation | None:
    """Free a palette number at both ends by swapping one alternating path, if one may move."""
    for alpha in (n for n in palette if graph.free(a, n)):
        for beta in (n for n in palette if n != alpha and graph.free(b, n)):
            path = _alternating_path(graph, b, alpha, beta)
            if path is None:
                continue
            if any(a in (edge.a, edge.b) or not edge.movable for edge in path):
                continue  # reaches a (odd cycle) or would move a revealed number
            moves = tuple(
                Move(e.a, e.b, e.number, beta if e.number == alpha else alpha) for e in path
            )
            return Allocation(alpha, "recoloured", moves)
    return None


def _alternating_path(graph: Graph, start: str, alpha: str, beta: str) -> list[Edge] | None:
    """The α/β path from ``start`` (which lacks β) beginning with its α edge."""
    path: list[Edge] = []
    vertex, colour = start, alpha
    while (edge := graph.at.get(vertex, {}).get(colour)) is not None:
        path.append(edge)
        vertex = edge.other(vertex)
        colour = beta if colour == alpha else alpha
        if len(path) > 2 * len(graph.pairs):  # impossible in a proper colouring; be safe
            return None
    return path or None


def apply(edges: Iterable[Edge], a: str, b: str, allocation: Allocation) -> list[Edge]:
    """The live pairs after ``allocation`` (for tests and planning): moves, then the new pair."""
    moved = {(m.a, m.b, m.old): m.new for m in allocation.moves}
    result = [
        Edge(e.a, e.b, moved.get((e.a, e.b, e.number), e.number), e.movable)
        for e in edges
        if frozenset((e.a, e.b)) != frozenset((a, b))
    ]
    if allocation.number is not None:
        result.append(Edge(a, b, allocation.number, movable=True))
    return result


def pin_number(pool: Sequence[str], edges: Iterable[Edge], a: str, b: str) -> str | None:
    """The shared number a PIN session uses: the first one either party does not hold.

    A party that does not hold it may reach the other by calling it without a PIN when this
    is their only session on it. None when the pool is empty.
    """
    graph = Graph(edges)
    for number in pool:
        if graph.free(a, number) or graph.free(b, number):
            return number
    return pool[0] if pool else None
