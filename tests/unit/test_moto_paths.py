"""Plain dotted JSONPaths built without jsonpath_ng's parser are the trees the parsers build."""

from __future__ import annotations

import pytest
from jsonpath_ng.ext.parser import parse as ext_parse
from jsonpath_ng.parser import parse as base_parse

from orchestration.local.moto_paths import dotted, fast_parse

DOTTED = ["$.a", "$.res.extract", "$.res._p1.load_2", "$.Payload", "$.ctx.run_id", "$.res._j_report.fetch_orders"]
OTHER = ["$", "$.res[0]", "$.a.b[*]", "$..a", "$.where.x", "$.a.null", "$.true", "$.a-b", "$['a']", "$.a.`len`"]


@pytest.mark.parametrize("parse", [base_parse, ext_parse])
@pytest.mark.parametrize("path", DOTTED)
def test_a_dotted_path_is_the_tree_the_parser_builds(parse: object, path: str) -> None:
    assert callable(parse)
    tree = dotted(path)
    assert tree == parse(path) and repr(tree) == repr(parse(path))
    doc = {"a": 1, "res": {"extract": [1], "_p1": {"load_2": {"x": None}}, "_j_report": {"fetch_orders": "o"}}}
    assert [m.value for m in tree.find(doc)] == [m.value for m in parse(path).find(doc)]


@pytest.mark.parametrize("path", OTHER)
def test_any_other_path_goes_to_the_parser(path: str) -> None:
    assert dotted(path) is None
    calls: list[str] = []

    def parse(p: str) -> str:
        calls.append(p)
        return "parsed"

    cached = fast_parse(parse)
    assert cached(path) == cached(path) == "parsed"
    assert calls == [path]  # once: cached
