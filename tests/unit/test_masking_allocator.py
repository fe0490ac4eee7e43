"""The pure allocator: masking rule, sticky reuse, Δ numbers on bipartite loads, PIN fallback."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from exocomms.masking.allocator import Edge, Graph, allocate, apply, pin_number

POOL = [f"+9180470910{i:02d}" for i in range(40)]


def degrees(edges: list[Edge]) -> Counter[str]:
    count: Counter[str] = Counter()
    for e in edges:
        count[e.a] += 1
        count[e.b] += 1
    return count


def test_first_pair_gets_the_first_number() -> None:
    assert allocate(POOL, [], "c1", "r1").number == POOL[0]


def test_a_number_is_reused_across_distinct_participants() -> None:
    edges = [Edge("c1", "r1", POOL[0])]
    decision = allocate(POOL, edges, "c2", "r2")
    assert (decision.number, decision.reason) == (POOL[0], "free")


def test_a_participant_never_gets_a_number_it_holds() -> None:
    edges = [Edge("c1", "r1", POOL[0])]
    assert allocate(POOL, edges, "c1", "r2").number == POOL[1]


def test_the_same_pair_shares_its_live_number() -> None:
    edges = [Edge("c1", "r1", POOL[3])]
    decision = allocate(POOL, edges, "r1", "c1")
    assert (decision.number, decision.reason) == (POOL[3], "existing")


def test_sticky_number_wins_when_free_for_both() -> None:
    decision = allocate(POOL, [Edge("c9", "r9", POOL[0])], "c1", "r1", sticky=POOL[7])
    assert (decision.number, decision.reason) == (POOL[7], "sticky")
    held = [Edge("c1", "r5", POOL[7])]
    assert allocate(POOL, held, "c1", "r1", sticky=POOL[7]).number != POOL[7]


def test_greedy_trap_is_solved_by_recolouring_unrevealed_sessions() -> None:
    # Two numbers, Δ = 2: c1 holds n0 (with r1), r2 holds n1 (with c2). c1–r2 finds no number
    # free for both; greedy gives up, the Kempe swap moves c2–r2 to n0 and uses n1.
    trap = [Edge("c1", "r1", POOL[0], movable=True), Edge("c2", "r2", POOL[1], movable=True)]
    assert allocate(POOL[:2], trap, "c1", "r2", recolour=False).number is None
    smart = allocate(POOL[:2], trap, "c1", "r2")
    assert smart.reason == "recoloured"
    assert smart.number == POOL[1]
    assert [(m.a, m.b, m.old, m.new) for m in smart.moves] == [("c2", "r2", POOL[1], POOL[0])]
    after = apply(trap, "c1", "r2", smart)
    Graph(after)  # still a proper colouring
    assert {e.number for e in after} == set(POOL[:2])


def test_revealed_sessions_never_move() -> None:
    trap = [Edge("c1", "r1", POOL[0], movable=False), Edge("c2", "r2", POOL[1], movable=False)]
    decision = allocate(POOL[:3], trap, "c1", "r2")
    assert (decision.number, decision.moves) == (POOL[2], ())
    assert allocate(POOL[:2], trap, "c1", "r2").number is None  # PIN instead of moving


def test_pin_fallback_for_a_party_holding_every_number() -> None:
    pool = POOL[:3]
    vendor = [Edge("v1", f"c{i}", pool[i], movable=True) for i in range(3)]
    decision = allocate(pool, vendor, "v1", "c9")
    assert (decision.number, decision.reason) == (None, "pin")
    assert pin_number(pool, vendor, "v1", "c9") == pool[0]  # the customer does not hold it
    assert pin_number([], vendor, "v1", "c9") is None


pairs = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(pairs, st.lists(st.booleans(), min_size=40, max_size=40), st.integers(1, 12))
def test_rule_holds_for_any_load(
    raw: list[tuple[int, int]], revealed: list[bool], size: int
) -> None:
    """Mixed, non-bipartite load with some revealed sessions: never a number held twice."""
    pool = POOL[:size]
    edges: list[Edge] = []
    for i, (x, y) in enumerate(raw):
        a, b = f"p{x}", f"p{y + 3}"  # overlapping ranges: triangles happen
        if a == b:
            continue
        decision = allocate(pool, edges, a, b)
        graph = Graph(edges)
        if decision.number is None:
            # PIN only when no number is free for both (after any allowed recolouring).
            assert not any(graph.free(a, n) and graph.free(b, n) for n in pool)
            continue
        for move in decision.moves:  # only unrevealed sessions move
            moved = graph.pairs[frozenset((move.a, move.b))]
            assert moved.movable
        edges = apply(edges, a, b, decision)
        edges = [Edge(e.a, e.b, e.number, e.movable and not revealed[i]) for e in edges]
        Graph(edges)  # raises if anyone holds a number twice


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=60))
def test_bipartite_loads_use_at_most_delta_numbers(raw: list[tuple[int, int]]) -> None:
    """Customers × riders, every session re-assignable: König's Δ, and never PIN."""
    edges: list[Edge] = []
    for x, y in raw:
        a, b = f"c{x}", f"r{y}"
        decision = allocate(POOL, edges, a, b)
        assert decision.number is not None
        edges = apply(edges, a, b, decision)
        delta = max(degrees(edges).values())
        assert len({e.number for e in edges}) <= delta
        assert {e.number for e in edges} <= set(POOL[:delta])


@settings(max_examples=150, deadline=None)
@given(pairs)
def test_without_recolouring_at_most_two_delta_minus_one(raw: list[tuple[int, int]]) -> None:
    edges: list[Edge] = []
    for x, y in raw:
        a, b = f"p{x}", f"p{y + 3}"
        if a == b:
            continue
        decision = allocate(POOL, edges, a, b, recolour=False)
        assert decision.number is not None
        assert not decision.moves
        edges = apply(edges, a, b, decision)
        delta = max(degrees(edges).values())
        assert len({e.number for e in edges}) <= 2 * delta - 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 3)), min_size=1, max_size=40))
def test_pin_exactly_when_a_party_would_exceed_the_pool(raw: list[tuple[int, int]]) -> None:
    """Bipartite, movable, pool of 3: PIN iff one side already holds all three numbers."""
    pool = POOL[:3]
    edges: list[Edge] = []
    for x, y in raw:
        a, b = f"c{x}", f"v{y}"
        graph = Graph(edges)
        decision = allocate(pool, edges, a, b)
        existing = frozenset((a, b)) in graph.pairs
        saturated = graph.degree(a) >= len(pool) or graph.degree(b) >= len(pool)
        assert (decision.number is None) == (saturated and not existing)
        edges = apply(edges, a, b, decision)


def test_sticky_reuse_is_preferred_over_the_palette() -> None:
    decision = allocate(POOL, [], "c1", "r1", sticky=POOL[9])
    assert decision.number == POOL[9]
    assert allocate(POOL, [], "c1", "r1", sticky="+910000000000").number == POOL[0]  # not pooled
