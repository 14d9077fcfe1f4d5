"""A seeded corpus of random DAGs with known integer task durations.

Every DAG comes from `random.Random(f"{seed}/{index}")`, so the corpus is identical on every
machine and Python version (string seeds hash with SHA-512, not with the salted `hash()`).

Shapes (the mix the benchmark needs: series-parallel and not):

- ``chain``: t0 -> t1 -> ... (series-parallel)
- ``fan_out``: one root, every other task depends only on it (series-parallel)
- ``fan_in``: every task but the last is a source; the last depends on all (series-parallel)
- ``diamond``: root -> a wide middle -> sink (series-parallel)
- ``layered``: layers of random width, each layer depends on all of the previous (series-parallel)
- ``series_parallel``: random recursive series / parallel composition (series-parallel)
- ``random_layered``: layers of random width, each task depends on 1-3 random tasks of earlier
  layers (almost never series-parallel)
- ``n_shape``: zigzags of "N" motifs (a->c, a->d, b->d, ...) joined by short chains (never
  series-parallel)
- ``random_dag``: every forward edge of a random order with probability p (rarely series-parallel)
- ``lattice``: a grid about as wide as it is deep, filled row by row, each task after the task
  above it and the one to its left (never series-parallel once it has two full rows)
- ``bipartite``: a top and a bottom layer, each bottom task after 1-3 random top tasks (crossing
  edges; almost never series-parallel)

The corpus is weighted toward the shapes that are not series-parallel (`PER_SHAPE`): they are the
ones whose compiled form needs joins.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

SEED = 20240611
SHAPES: tuple[str, ...] = (
    "chain",
    "fan_out",
    "fan_in",
    "diamond",
    "layered",
    "series_parallel",
    "random_layered",
    "n_shape",
    "random_dag",
    "lattice",
    "bipartite",
)
SP_PER_SHAPE = 20
NON_SP_PER_SHAPE = 40
# DAGs per shape: 6 series-parallel shapes x 20 + 5 other shapes x 40 = 320 DAGs
PER_SHAPE: Mapping[str, int] = {shape: SP_PER_SHAPE if i < 6 else NON_SP_PER_SHAPE for i, shape in enumerate(SHAPES)}
MIN_TASKS = 5
MAX_TASKS = 200
MAX_DURATION = 100

Preds = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Dag:
    """One corpus entry: task -> direct upstream tasks, and each task's duration."""

    name: str
    shape: str
    preds: Mapping[str, tuple[str, ...]]
    durations: Mapping[str, int]

    @property
    def size(self) -> int:
        return len(self.preds)

    @property
    def edges(self) -> int:
        return sum(len(ups) for ups in self.preds.values())


def task_name(i: int) -> str:
    return f"t{i:03d}"


def _edges_to_preds(n: int, edges: set[tuple[int, int]]) -> Preds:
    ups: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in edges:
        assert a < b, "edges go forward in index order, so the graph is acyclic"
        ups[b].add(a)
    return {task_name(i): tuple(task_name(u) for u in sorted(ups[i])) for i in range(n)}


def _chain(rng: random.Random, n: int) -> set[tuple[int, int]]:
    return {(i, i + 1) for i in range(n - 1)}


def _fan_out(rng: random.Random, n: int) -> set[tuple[int, int]]:
    return {(0, i) for i in range(1, n)}


def _fan_in(rng: random.Random, n: int) -> set[tuple[int, int]]:
    return {(i, n - 1) for i in range(n - 1)}


def _diamond(rng: random.Random, n: int) -> set[tuple[int, int]]:
    return {(0, i) for i in range(1, n - 1)} | {(i, n - 1) for i in range(1, n - 1)}


def _layer_sizes(rng: random.Random, n: int, max_width: int) -> list[int]:
    sizes: list[int] = []
    left = n
    while left:
        w = min(left, rng.randint(1, max_width))
        sizes.append(w)
        left -= w
    return sizes


def _layers(rng: random.Random, n: int) -> list[list[int]]:
    out: list[list[int]] = []
    start = 0
    for w in _layer_sizes(rng, n, max(2, min(12, n // 3))):
        out.append(list(range(start, start + w)))
        start += w
    return out


def _layered(rng: random.Random, n: int) -> set[tuple[int, int]]:
    layers = _layers(rng, n)
    return {(a, b) for prev, cur in itertools.pairwise(layers) for a in prev for b in cur}


def _random_layered(rng: random.Random, n: int) -> set[tuple[int, int]]:
    layers = _layers(rng, n)
    edges: set[tuple[int, int]] = set()
    for depth in range(1, len(layers)):
        for b in layers[depth]:
            for _ in range(rng.randint(1, 3)):
                # mostly the previous layer, sometimes a layer further back (long edges)
                back = 1 if rng.random() < 0.8 else rng.randint(1, depth)
                edges.add((rng.choice(layers[depth - back]), b))
    return edges


def _series_parallel(rng: random.Random, n: int) -> set[tuple[int, int]]:
    """Random SP composition over task indices start..start+n-1 (edges keep index order)."""
    edges: set[tuple[int, int]] = set()

    def build(start: int, size: int) -> tuple[list[int], list[int]]:  # (sources, sinks)
        if size == 1:
            return [start], [start]
        k = rng.randint(1, size - 1)
        left_src, left_snk = build(start, k)
        right_src, right_snk = build(start + k, size - k)
        if rng.random() < 0.5:  # series: every sink of the left waits before every source of the right
            edges.update((a, b) for a in left_snk for b in right_src)
            return left_src, right_snk
        return left_src + right_src, left_snk + right_snk

    build(0, n)
    return edges


def _n_shape(rng: random.Random, n: int) -> set[tuple[int, int]]:
    """Zigzags: tops a_i and bottoms b_i with a_i -> b_i and a_i -> b_{i+1} (each is a run of N's),
    separated by short chains; the first zigzag always exists, so the DAG is never series-parallel."""
    edges: set[tuple[int, int]] = set()
    i = 0
    prev_tail: int | None = None
    while i < n:
        left = n - i
        k = min(rng.randint(2, 8), left // 2)
        if k >= 2:
            tops = list(range(i, i + k))
            bottoms = list(range(i + k, i + 2 * k))
            for j, a in enumerate(tops):
                edges.add((a, bottoms[j]))
                if j + 1 < k:
                    edges.add((a, bottoms[j + 1]))
            if prev_tail is not None:
                edges.update((prev_tail, a) for a in tops)
            i += 2 * k
            tail = bottoms
        else:
            tail = [i]
            if prev_tail is not None:
                edges.add((prev_tail, i))
            i += 1
        # a short chain after the block: everything in `tail` feeds its first task
        link = min(rng.randint(0, 2), n - i)
        if link:
            edges.update((b, i) for b in tail)
            for j in range(i, i + link - 1):
                edges.add((j, j + 1))
            prev_tail = i + link - 1
            i += link
        else:
            prev_tail = tail[-1]
    return edges


def _random_dag(rng: random.Random, n: int) -> set[tuple[int, int]]:
    p = min(0.5, rng.uniform(1.0, 3.0) / n)
    return {(a, b) for b in range(1, n) for a in range(b) if rng.random() < p}


def _lattice(rng: random.Random, n: int) -> set[tuple[int, int]]:
    # about square: a narrow lattice nests one Parallel per row, deeper than moto's parser can take
    width = rng.randint(max(2, round(n**0.5 / 2)), max(2, round(n**0.5)))
    edges: set[tuple[int, int]] = set()
    for i in range(n):
        row, col = divmod(i, width)
        if row:
            edges.add((i - width, i))
        if col:
            edges.add((i - 1, i))
    return edges


def _bipartite(rng: random.Random, n: int) -> set[tuple[int, int]]:
    top = max(1, min(n - 1, round(n * rng.uniform(0.3, 0.6))))
    return {(rng.randrange(top), b) for b in range(top, n) for _ in range(rng.randint(1, 3))}


GENERATORS: dict[str, Callable[[random.Random, int], set[tuple[int, int]]]] = {
    "chain": _chain,
    "fan_out": _fan_out,
    "fan_in": _fan_in,
    "diamond": _diamond,
    "layered": _layered,
    "series_parallel": _series_parallel,
    "random_layered": _random_layered,
    "n_shape": _n_shape,
    "random_dag": _random_dag,
    "lattice": _lattice,
    "bipartite": _bipartite,
}


def _sizes(rng: random.Random, count: int) -> list[int]:
    """Always the extremes (5 and 200), the rest log-uniform in between."""
    fixed = [MIN_TASKS, MAX_TASKS, 20, 50, 100][:count]
    rest = [round(MIN_TASKS * (MAX_TASKS / MIN_TASKS) ** rng.random()) for _ in range(count - len(fixed))]
    return fixed + rest


def _durations(rng: random.Random, n: int) -> dict[str, int]:
    mode = rng.choice(("uniform", "skewed", "equal"))
    out: dict[str, int] = {}
    for i in range(n):
        if mode == "equal":
            d = 10
        elif mode == "skewed":  # mostly short tasks, a few very long ones
            d = MAX_DURATION if rng.random() < 0.1 else rng.randint(1, 10)
        else:
            d = rng.randint(1, MAX_DURATION)
        out[task_name(i)] = d
    return out


def make_dag(shape: str, n: int, rng: random.Random, name: str) -> Dag:
    preds = _edges_to_preds(n, GENERATORS[shape](rng, n))
    return Dag(name=name, shape=shape, preds=preds, durations=_durations(rng, n))


def generate_corpus(seed: int = SEED, per_shape: int | Mapping[str, int] = PER_SHAPE) -> list[Dag]:
    """The benchmark corpus: `per_shape` DAGs of every shape (or per shape), deterministic for a seed."""
    corpus: list[Dag] = []
    for shape in SHAPES:
        count = per_shape if isinstance(per_shape, int) else per_shape[shape]
        sizes = _sizes(random.Random(f"{seed}/{shape}/sizes"), count)
        for k, n in enumerate(sizes):
            rng = random.Random(f"{seed}/{shape}/{k}")
            corpus.append(make_dag(shape, n, rng, f"{shape}_{k:02d}"))
    return corpus


def is_series_parallel(preds: Mapping[str, tuple[str, ...]]) -> bool:
    """Independent of the planner: a partial order is series-parallel iff its comparability graph is
    a cograph, i.e. every induced subgraph with two or more vertices is disconnected or has a
    disconnected complement (N-free orders; Valdes, Tarjan & Lawler 1982)."""
    names = list(preds)
    index = {n: i for i, n in enumerate(names)}
    order = _topo(preds)
    anc = [0] * len(names)
    for node in order:
        bits = 0
        for up in preds[node]:
            bits |= anc[index[up]] | (1 << index[up])
        anc[index[node]] = bits
    desc = [0] * len(names)
    for i, bits in enumerate(anc):
        b = bits
        while b:
            low = b & -b
            desc[low.bit_length() - 1] |= 1 << i
            b ^= low
    comp = [anc[i] | desc[i] for i in range(len(names))]

    def components(members: int, complement: bool) -> list[int]:
        out: list[int] = []
        left = members
        while left:
            seed_bit = left & -left
            group, frontier = seed_bit, seed_bit
            while frontier:
                low = frontier & -frontier
                frontier ^= low
                v = low.bit_length() - 1
                nbrs = (members & ~comp[v] & ~low) if complement else (members & comp[v])
                new = nbrs & ~group
                group |= new
                frontier |= new
            out.append(group)
            left &= ~group
        return out

    stack = [(1 << len(names)) - 1] if names else []
    while stack:
        members = stack.pop()
        if members & (members - 1) == 0:  # one vertex
            continue
        parts = components(members, complement=False)
        if len(parts) == 1:
            parts = components(members, complement=True)
            if len(parts) == 1:
                return False
        stack.extend(parts)
    return True


def _topo(preds: Mapping[str, tuple[str, ...]]) -> list[str]:
    seen: set[str] = set()
    order: list[str] = []
    for root in preds:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((u, False) for u in preds[node] if u not in seen)
    return order
