"""JSONPaths for moto's interpreter, built without its parser where that is safe (used by moto_adapter).

moto hands every path to jsonpath_ng's PLY parser, about 1.5 ms a path; a compiled workflow has a few
distinct paths per task (``$.res.extract``, ``$.res._p1.load``), so a first run of a 500-task
workflow spent about 1.5 s parsing. A plain dotted path is built here as the very tree the parser
returns for it (`Child(Child(Root(), Fields('res')), Fields('extract'))`: jsonpath_ng's nodes compare
equal, see tests/unit/test_moto_paths.py); anything else still goes to the parser. Either way the
result is cached per path.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from jsonpath_ng.jsonpath import Child, Fields, Root

# names the parsers read as something other than a field (keywords, literals)
_NOT_FIELDS = frozenset({"where", "wherenot", "null", "true", "false"})
_DOTTED = re.compile(r"\$(\.[A-Za-z_][A-Za-z0-9_]*)+")


def dotted(path: str) -> Any | None:
    """The parse tree of a plain dotted path (``$.a.b``), or None for any other path."""
    if not _DOTTED.fullmatch(path):
        return None
    names = path[2:].split(".")
    if _NOT_FIELDS.intersection(names):
        return None
    tree: Any = Root()
    for name in names:
        tree = Child(tree, Fields._compliant_constructor(name))
    return tree


def fast_parse(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """`parse` (jsonpath_ng's, or its extended one), plain dotted paths built directly, cached per path."""

    @functools.lru_cache(maxsize=8192)
    def cached(path: str) -> Any:
        tree = dotted(path)
        return parse(path) if tree is None else tree

    return cached
