"""DAG algorithms: ordering, cycles, and the series-parallel plan the compiler emits.

A *plan* is a tree of sequences and parallel blocks over the tasks, plus *joins*: extra waits for
edges that nested Parallel states cannot express (any "N" shape a->c, a->d, b->d). The plan is exact:
every task structurally waits only for its real ancestors, and every real dependency is either
implied by the structure or covered by a join. So a task starts as soon as its own dependencies are
done, whatever the shape of the DAG.
"""

from __future__ import annotations

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
            children = sorted(succs[node])
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
    remaining = {n: {u for u in ups if u in preds} for n, ups in preds.items()}
    succs: dict[str, set[str]] = {n: set() for n in preds}
    for node, ups in remaining.items():
        for up in ups:
            succs[up].add(node)
    ready = sorted(n for n, ups in remaining.items() if not ups)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        newly = []
        for child in succs[node]:
            remaining[child].discard(node)
            if not remaining[child]:
                newly.append(child)
        ready = sorted(ready + newly)
    return order


def transitive_reduction(preds: Edges) -> dict[str, set[str]]:
    """Drop edges implied by longer paths (they add no ordering)."""
    order = topological_order(preds)
    index = {n: i for i, n in enumerate(order)}
    anc = _ancestor_bits(preds, order, index)
    reduced: dict[str, set[str]] = {}
    for node in order:
        ups = set(preds[node])
        keep = set()
        for up in ups:
            implied = any(other != up and anc[index[other]] >> index[up] & 1 for other in ups)
            if not implied:
                keep.add(up)
        reduced[node] = keep
    return reduced


def _ancestor_bits(preds: Edges, order: Sequence[str], index: Mapping[str, int]) -> list[int]:
    anc = [0] * len(order)
    for node in order:
        bits = 0
        for up in preds[node]:
            i = index[up]
            bits |= anc[i] | (1 << i)
        anc[index[node]] = bits
    return anc


def build_plan(preds: Edges) -> Plan:
    """Decompose an acyclic DAG into nested sequences and parallel blocks plus joins (exact)."""
    reduced = transitive_reduction(preds)
    order = topological_order(reduced)
    index = {n: i for i, n in enumerate(order)}
    live: dict[str, set[str]] = {n: set(ups) for n, ups in reduced.items()}

    def inner_edges(nodes: Sequence[str]) -> list[tuple[str, str]]:
        """(upstream, task) for each live edge between two of `nodes`."""
        members = set(nodes)
        return [(up, n) for n in nodes for up in live[n] if up in members]

    def succ_map(nodes: Sequence[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {n: set() for n in nodes}
        for up, n in inner_edges(nodes):
            out[up].add(n)
        return out

    def components(nodes: Sequence[str]) -> list[list[str]]:
        adj: dict[str, set[str]] = {n: set() for n in nodes}
        for up, n in inner_edges(nodes):
            adj[n].add(up)
            adj[up].add(n)
        seen: set[str] = set()
        comps = []
        for n in nodes:
            if n in seen:
                continue
            comp, todo = [], [n]
            seen.add(n)
            while todo:
                cur = todo.pop()
                comp.append(cur)
                for nxt in adj[cur]:
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            comps.append(sorted(comp, key=index.__getitem__))
        return comps

    def series_split(nodes: Sequence[str]) -> int | None:
        """Smallest k such that every task in nodes[:k] precedes every task in nodes[k:]."""
        local = {n: i for i, n in enumerate(nodes)}
        succs = succ_map(nodes)
        desc = [0] * len(nodes)
        for n in reversed(nodes):
            bits = 0
            for child in succs[n]:
                j = local[child]
                bits |= desc[j] | (1 << j)
            desc[local[n]] = bits
        full = (1 << len(nodes)) - 1
        common = full
        for k in range(1, len(nodes)):
            common &= desc[k - 1]
            rest = full & ~((1 << k) - 1)
            if common & rest == rest:
                return k
        return None

    def cut(nodes: Sequence[str]) -> None:
        """Drop all but the latest in-edge of the first multi-parent task (a join covers them)."""
        members = set(nodes)
        for n in nodes:
            ups = sorted((u for u in live[n] if u in members), key=index.__getitem__)
            if len(ups) >= 2:
                live[n] -= set(ups[:-1])
                return
        raise AssertionError("a connected DAG without a multi-parent task is a tree")  # pragma: no cover

    def build(nodes: Sequence[str]) -> Block:
        if len(nodes) == 1:
            return Node(nodes[0])
        comps = components(nodes)
        if len(comps) > 1:
            return Par(tuple(build(c) for c in comps))
        k = series_split(nodes)
        if k is None:
            cut(nodes)
            return build(nodes)
        head, tail = build(nodes[:k]), build(nodes[k:])
        items = [*(head.items if isinstance(head, Seq) else (head,))]
        items += [*(tail.items if isinstance(tail, Seq) else (tail,))]
        return Seq(tuple(items))

    block = build(order) if order else Seq(())
    # Every direct dependency the structure does not already order becomes a join: the task waits
    # for it (it is a real ancestor, so this adds no delay) and receives its result through it.
    structural = ancestors(structural_edges(block))
    joins = {n: tuple(sorted(set(preds[n]) - structural[n], key=index.__getitem__)) for n in order}
    return Plan(block, {n: ups for n, ups in joins.items() if ups})


def entries(block: Block) -> list[str]:
    if isinstance(block, Node):
        return [block.task]
    if isinstance(block, Seq):
        return entries(block.items[0]) if block.items else []
    return [t for b in block.branches for t in entries(b)]


def exits(block: Block) -> list[str]:
    if isinstance(block, Node):
        return [block.task]
    if isinstance(block, Seq):
        return exits(block.items[-1]) if block.items else []
    return [t for b in block.branches for t in exits(b)]


def tasks_of(block: Block) -> list[str]:
    if isinstance(block, Node):
        return [block.task]
    children = block.items if isinstance(block, Seq) else block.branches
    return [t for c in children for t in tasks_of(c)]


def structural_edges(block: Block) -> dict[str, set[str]]:
    """task -> tasks it directly waits for because of the block structure alone."""
    edges: dict[str, set[str]] = {t: set() for t in tasks_of(block)}

    def walk(b: Block) -> None:
        if isinstance(b, Seq):
            for prev, nxt in zip(b.items, b.items[1:], strict=False):
                for e in entries(nxt):
                    edges[e].update(exits(prev))
            for item in b.items:
                walk(item)
        elif isinstance(b, Par):
            for br in b.branches:
                walk(br)

    walk(block)
    return edges


def effective_predecessors(plan: Plan) -> dict[str, set[str]]:
    """What each task waits for when the compiled plan runs: structure plus joins."""
    edges = structural_edges(plan.block)
    for task, ups in plan.joins.items():
        edges[task] |= set(ups)
    return edges


def ancestors(preds: Edges) -> dict[str, set[str]]:
    """task -> every task that finishes before it starts (transitive)."""
    order = topological_order(preds)
    result: dict[str, set[str]] = {}
    for n in order:
        acc: set[str] = set()
        for up in preds[n]:
            acc |= result[up] | {up}
        result[n] = acc
    return result


def is_exact(plan: Plan, preds: Edges) -> bool:
    """True when every task waits for exactly its real ancestors under the plan."""
    return ancestors(effective_predecessors(plan)) == ancestors(preds)


def describe(block: Block, indent: int = 0) -> list[str]:
    """Human-readable outline of a plan block."""
    pad = "  " * indent
    if isinstance(block, Node):
        return [f"{pad}{block.task}"]
    if isinstance(block, Seq):
        return [line for item in block.items for line in describe(item, indent)]
    lines = [f"{pad}parallel:"]
    for i, br in enumerate(block.branches, 1):
        lines.append(f"{pad}  branch {i}:")
        lines += describe(br, indent + 2)
    return lines
