"""The code layout: no import cycle, the library does not depend on its edges, modules stay small."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from orchestration.runtime.registry import FUNCTIONS
from tests.samples import ROOT

PACKAGES = ("orchestration", "functions", "infra", "bench")
MAX_MODULE_LINES = 450


def project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every import in the module, at any depth (inside functions, under TYPE_CHECKING), plus
    `importlib.import_module("literal")` and `__import__("literal")` calls."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            for alias in node.names:
                yield f"{prefix}.{alias.name}"  # a submodule, or a name in `prefix`
                yield prefix
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for target in _imported_names(ast.parse(path.read_text()), name, path.name == "__init__.py"):
            # `from a.b import c`: c is a module or a name in a.b; the longest project module wins
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
        graph[name] = edges
    # The registry's entries are imported by name when a function is bound (runtime.entry).
    graph["orchestration.runtime.entry"] |= {f.run.partition(":")[0] for f in FUNCTIONS}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_packages_depend_one_way() -> None:
    """functions/ and infra/ use the library; the library uses neither (the packaged CDK app finds
    infra's stack through an entry point), and they do not use each other."""
    allowed = {"orchestration": set(), "functions": {"orchestration"}, "infra": {"orchestration"}}
    for module, edges in import_graph().items():
        top = module.split(".")[0]
        if top not in allowed:
            continue
        for target in edges:
            other = target.split(".")[0]
            assert other == top or other in allowed[top], f"{module} imports {target}"


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_modules_stay_small() -> None:
    big = {
        name: n
        for name, path in project_modules().items()
        if not name.startswith("bench") and (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"
