"""DAG algorithms: ordering, cycles, and the series-parallel plan the compiler emits.

A *plan* is a tree of sequences and parallel blocks over the tasks, plus *joins*: extra waits for
edges that nested Parallel states cannot express (any "N" shape a->c, a->d, b->d). The plan is exact:
every task structurally waits only for its real ancestors, and every real dependency is either
implied by the structure or covered by a join. So a task starts as soon as its own dependencies are
done, whatever the shape of the DAG.

Everything here is iterative (explicit stacks, no recursion limit); ancestor sets are bitsets.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    task: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Block, ...]


@dataclass(frozen=True)
class Par:
    branches: tuple[Block, ...]


Block = Node | Seq | Par


@dataclass(frozen=True)
class Plan:
    block: Block
    joins: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # task -> tasks it awaits


Edges = Mapping[str, Iterable[str]]  # task -> its direct upstream tasks


def find_cycle(preds: Edges) -> list[str] | None:
    """Return one cycle as [a, b, ..., a] (edges upstream -> downstream), or None."""
    succs: dict[str, list[str]] = {n: [] for n in preds}
    for node, ups in preds.items():
        for up in ups:
            if up in succs:
                succs[up].append(node)
    for children in succs.values():
        children.sort()
    color: dict[str, int] = dict.fromkeys(succs, 0)
    for root in sorted(succs):
        if color[root]:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, idx = stack.pop()
            if idx == 0:
                color[node] = 1
                path.append(node)
            children = succs[node]
            if idx < len(children):
                stack.append((node, idx + 1))
                child = children[idx]
                if color[child] == 1:
                    return [*path[path.index(child) :], child]
                if color[child] == 0:
                    stack.append((child, 0))
            else:
                color[node] = 2
                path.pop()
    return None


def topological_order(preds: Edges) -> list[str]:
    """Kahn's algorithm with name order among ready tasks: deterministic. Assumes no cycle."""
    remaining = {n: len({u for u in ups if u in preds}) for n, ups in preds.items()}
    succs: dict[str, set[str]] = {n: set() for n in preds}
    for node, ups in preds.items():
        for up in ups:
            if up in succs:
                succs[up].add(node)
    ready = [n for n, count in remaining.items() if not count]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in succs[node]:
            remaining[child] -= 1
            if not remaining[child]:
                heapq.heappush(ready, child)
    return order


def _ancestor_bits(preds: Edges, order: Sequence[str], index: Mapping[str, int]) -> list[int]:
    """Per task (by position in `order`, a topological order): the bitset of its ancestors."""
    anc = [0] * len(order)
    for node in order:
        bits = 0
        for up in preds[node]:
            i = index[up]
            bits |= anc[i] | (1 << i)
        anc[index[node]] = bits
    return anc


def transitive_reduction(preds: Edges) -> dict[str, set[str]]:
    """Drop edges implied by longer paths (they add no ordering)."""
    order = topological_order(preds)
    index = {n: i for i, n in enumerate(order)}
    anc = _ancestor_bits(preds, order, index)
    reduced: dict[str, set[str]] = {}
    for node in order:
        ups = set(preds[node])
        implied = 0  # an upstream that is an ancestor of another upstream is implied by it
        for up in ups:
            implied |= anc[index[up]]
        reduced[node] = {up for up in ups if not implied >> index[up] & 1}
    return reduced


def build_plan(preds: Edges) -> Plan:
    """Decompose an acyclic DAG into nested sequences and parallel blocks plus joins (exact).

    A part of the DAG that is not connected becomes parallel branches (its weakly connected
    components); a connected part splits into a sequence wherever every task before a point of the
    topological order precedes every task after it. A connected part with neither (it contains an
    "N") has in-edges dropped, first multi-parent task first, each keeping one in-edge, until it
    falls apart (`cut`). Every dropped dependency the structure does not order becomes a join."""
    reduced = transitive_reduction(preds)
    order = topological_order(reduced)
    index = {n: i for i, n in enumerate(order)}
    block = _Decomposer(order, reduced, index).block() if order else Seq(())
    # Every direct dependency the structure does not already order becomes a join: the task waits
    # for it (it is a real ancestor, so this adds no delay) and receives its result through it.
    structural = _structural_ancestors(block, index)
    joins: dict[str, tuple[str, ...]] = {}
    for n in order:
        bits = structural[n]
        missing = sorted({index[u] for u in preds[n] if not bits >> index[u] & 1})
        if missing:
            joins[n] = tuple(order[i] for i in missing)
    return Plan(block, joins)


class _Open:  # a Seq or Par whose children are still being built
    def __init__(self, kind: type[Seq] | type[Par], size: int) -> None:
        self.kind = kind
        self.children: list[Block | _Open | None] = [None] * size
        self.built: Block | None = None


def _built(child: Block | _Open | None) -> Block:
    assert child is not None and (not isinstance(child, _Open) or child.built is not None)
    return child.built if isinstance(child, _Open) else child  # type: ignore[return-value]


class _Decomposer:
    """The decomposition of `build_plan` on task positions in topological order (ints), with live
    in-edges (`parents`) that cuts remove. Each step is linear in the part it works on."""

    def __init__(self, order: Sequence[str], reduced: Mapping[str, set[str]], index: Mapping[str, int]) -> None:
        self.order = order
        self.parents = [{index[u] for u in reduced[n]} for n in order]
        self.children: list[set[int]] = [set() for _ in order]
        for v, u in ((v, u) for v, ups in enumerate(self.parents) for u in ups):
            self.children[u].add(v)
        self.member, self.stamp = [0] * len(order), 0  # member: the stamp of the part a task is in now
        self.seen, self.where = [0] * len(order), [0] * len(order)  # where: its position in the part

    def enter(self, nodes: Sequence[int]) -> int:
        self.stamp += 1
        for v in nodes:
            self.member[v] = self.stamp
        return self.stamp

    def block(self) -> Block:
        root = _Open(Seq, 1)  # holds the result
        # (tasks in topological order, where the result goes, connected?, may split in series?)
        todo: list[tuple[list[int], _Open, int, bool, bool]] = [(list(range(len(self.order))), root, 0, False, True)]
        opened: list[_Open] = []
        while todo:
            nodes, holder, slot, connected, series = todo.pop()
            if len(nodes) == 1:
                holder.children[slot] = Node(self.order[nodes[0]])
                continue
            parts = [nodes] if connected else self.components(nodes)
            if len(parts) == 1:
                points = self.series_points(nodes) if series else []
                if points:
                    bounds = [0, *points, len(nodes)]
                    segments = [nodes[a:b] for a, b in itertools.pairwise(bounds)]
                    # a segment has no series point of its own (the first point is the smallest)
                    holder.children[slot] = opened_block = _Open(Seq, len(segments))
                    opened.append(opened_block)
                    todo += [(seg, opened_block, i, False, False) for i, seg in enumerate(segments)]
                    continue
                parts = self.cut(nodes)
            holder.children[slot] = opened_block = _Open(Par, len(parts))
            opened.append(opened_block)
            todo += [(part, opened_block, i, True, True) for i, part in enumerate(parts)]
        for o in reversed(opened):  # children were opened after their parents
            o.built = o.kind(tuple(_built(c) for c in o.children))
        return _built(root.children[0])

    def components(self, nodes: Sequence[int]) -> list[list[int]]:
        """Weakly connected components over live edges, each in topological order, by first task."""
        stamp = self.enter(nodes)
        member, seen = self.member, self.seen
        comps: list[list[int]] = []
        for start in nodes:
            if seen[start] == stamp:
                continue
            seen[start] = stamp
            comp, todo = [], [start]
            while todo:
                cur = todo.pop()
                comp.append(cur)
                for nxt in (*self.parents[cur], *self.children[cur]):
                    if member[nxt] == stamp and seen[nxt] != stamp:
                        seen[nxt] = stamp
                        todo.append(nxt)
            comp.sort()
            comps.append(comp)
        return comps

    def series_points(self, nodes: Sequence[int]) -> list[int]:
        """Every k such that each of nodes[:k] precedes each of nodes[k:] (a connected part).

        With P = nodes[:k] and S = nodes[k:], that holds exactly when every sink of P has an edge
        to every source of S (any task of P reaches a sink of P, any task of S is reached from a
        source of S). A task is a sink of P for k in (its position, its first child's], a source
        of S for k in (its last parent's, its position], and an edge u->v joins such a pair for k
        in (v's last parent's, u's first child's]: counted for all k at once (difference arrays)."""
        stamp = self.enter(nodes)
        member, where, parents, children = self.member, self.where, self.parents, self.children
        size = len(nodes)
        last = size - 1
        for p, v in enumerate(nodes):
            where[v] = p
        first_child = [last] * size
        last_parent = [-1] * size
        inner: list[tuple[int, int]] = []
        for p, v in enumerate(nodes):
            for c in children[v]:
                if member[c] == stamp and where[c] < first_child[p]:
                    first_child[p] = where[c]
            for u in parents[v]:
                if member[u] == stamp:
                    q = where[u]
                    inner.append((q, p))
                    if q > last_parent[p]:
                        last_parent[p] = q
        # difference arrays over k: +1 where a range starts, -1 after it ends (ranges cut to 1..size-1)
        sinks, sources, pairs = [0] * (size + 1), [0] * (size + 1), [0] * (size + 1)
        for p in range(size):
            sinks[p + 1] += 1
            sinks[first_child[p] + 1] -= 1
            lo = max(last_parent[p] + 1, 1)
            if lo <= p:
                sources[lo] += 1
                sources[p + 1] -= 1
        for u, v in inner:
            lo, hi = max(last_parent[v] + 1, 1), first_child[u]
            if lo <= hi:
                pairs[lo] += 1
                pairs[hi + 1] -= 1
        points: list[int] = []
        n_sinks = n_sources = n_pairs = 0
        for k in range(1, size):
            n_sinks += sinks[k]
            n_sources += sources[k]
            n_pairs += pairs[k]
            if n_pairs == n_sinks * n_sources:
                points.append(k)
        return points

    def cut(self, nodes: Sequence[int]) -> list[list[int]]:
        """A connected part without series point: drop all but one in-edge (from the parent with
        the fewest children: 3% fewer transitions on the corpus than the latest parent's) of each
        multi-parent task in order until the part falls apart; return its components. Dropping edges
        only removes reachability (never creates a series point), so only connectivity is checked:
        union-find adds the dropped edges back from the last cut to the first."""
        stamp = self.enter(nodes)
        member = self.member
        drops: list[tuple[int, list[int]]] = []
        kept: list[tuple[int, int]] = []
        for v in nodes:
            ups = [u for u in self.parents[v] if member[u] == stamp]
            if ups:
                keep = min(ups, key=lambda u: (len(self.children[u]), u))
                kept.append((keep, v))
                drops += [(v, sorted(u for u in ups if u != keep))] if len(ups) > 1 else []
        root = {v: v for v in nodes}

        def find(v: int) -> int:
            while root[v] != v:
                root[v] = root[root[v]]
                v = root[v]
            return v

        def union(a: int, b: int) -> bool:
            ra, rb = find(a), find(b)
            root[ra] = rb
            return ra != rb

        parts = len(nodes) - sum(union(u, v) for u, v in kept)
        after = [0] * (len(drops) + 1)  # after[j]: components once the first j cuts are made
        for j in range(len(drops), 0, -1):
            after[j] = parts
            v, ups = drops[j - 1]
            parts -= sum(union(u, v) for u in ups)
        last = next(j for j in range(1, len(drops) + 1) if after[j] > 1)
        for v, ups in drops[:last]:
            for u in ups:
                self.parents[v].discard(u)
                self.children[u].discard(v)
        return self.components(nodes)


def preorder(block: Block) -> list[Block]:
    """Every block of the tree, each before the blocks inside it (iterative: no recursion limit)."""
    order: list[Block] = []
    todo = [block]
    while todo:
        b = todo.pop()
        order.append(b)
        if not isinstance(b, Node):
            todo += b.items if isinstance(b, Seq) else b.branches
    return order


def _task_bits(block: Block, index: Mapping[str, int]) -> dict[int, int]:
    """id(block) -> the bitset of its tasks, for every block of the tree."""
    bits: dict[int, int] = {}
    for b in reversed(preorder(block)):
        if isinstance(b, Node):
            bits[id(b)] = 1 << index[b.task]
        else:
            acc = 0
            for child in b.items if isinstance(b, Seq) else b.branches:
                acc |= bits[id(child)]
            bits[id(b)] = acc
    return bits


def _structural_ancestors(block: Block, index: Mapping[str, int]) -> dict[str, int]:
    """task -> the bitset of the tasks it waits for because of the block structure alone."""
    bits = _task_bits(block, index)
    out: dict[str, int] = {}
    todo: list[tuple[Block, int]] = [(block, 0)]
    while todo:
        b, before = todo.pop()
        if isinstance(b, Node):
            out[b.task] = before
        elif isinstance(b, Par):
            todo += [(br, before) for br in b.branches]
        else:
            for item in b.items:
                todo.append((item, before))
                before |= bits[id(item)]
    return out


def _flatten(block: Block, pick: str) -> list[str]:  # all its tasks, or its entries or exits
    out: list[str] = []
    todo = [block]
    while todo:
        b = todo.pop()
        if isinstance(b, Node):
            out.append(b.task)
        elif isinstance(b, Par):
            todo += reversed(b.branches)
        elif pick == "all":
            todo += reversed(b.items)
        elif b.items:
            todo.append(b.items[0] if pick == "entries" else b.items[-1])
    return out


def entries(block: Block) -> list[str]:
    return _flatten(block, "entries")


def exits(block: Block) -> list[str]:
    return _flatten(block, "exits")


def tasks_of(block: Block) -> list[str]:
    return _flatten(block, "all")


def structural_edges(block: Block) -> dict[str, set[str]]:
    """task -> tasks it directly waits for because of the block structure alone."""
    edges: dict[str, set[str]] = {t: set() for t in tasks_of(block)}
    for b in preorder(block):
        if isinstance(b, Seq):
            for prev, nxt in zip(b.items, b.items[1:], strict=False):
                before = exits(prev)
                for e in entries(nxt):
                    edges[e].update(before)
    return edges


def effective_predecessors(plan: Plan) -> dict[str, set[str]]:
    """What each task waits for when the compiled plan runs: structure plus joins."""
    edges = structural_edges(plan.block)
    for task, ups in plan.joins.items():
        edges[task] |= set(ups)
    return edges


def is_exact(plan: Plan, preds: Edges) -> bool:
    """True when every task waits for exactly its real ancestors under the plan."""
    order = topological_order(preds)
    index = {n: i for i, n in enumerate(order)}
    effective = effective_predecessors(plan)
    effective_order = topological_order(effective)
    if sorted(effective_order) != sorted(order) or len(effective_order) != len(effective):
        return False
    return _ancestor_bits(effective, effective_order, index) == _ancestor_bits(preds, order, index)


def describe(block: Block, indent: int = 0) -> list[str]:
    """Human-readable outline of a plan block."""
    lines: list[str] = []
    todo: list[tuple[Block, int] | str] = [(block, indent)]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            lines.append(item)
            continue
        b, depth = item
        pad = "  " * depth
        if isinstance(b, Node):
            lines.append(f"{pad}{b.task}")
        elif isinstance(b, Seq):
            todo += [(i, depth) for i in reversed(b.items)]
        else:
            lines.append(f"{pad}parallel:")
            for i in range(len(b.branches), 0, -1):
                todo += [(b.branches[i - 1], depth + 2), f"{pad}  branch {i}:"]
    return lines
