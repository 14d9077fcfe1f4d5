"""Encoded outputs (`artifacts`): a task's value comes back exactly as returned, whatever keys it holds,
and only references under the run's own prefix are fetched."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.artifacts import ArtifactStore, artifact_key, dumps, shown
from orchestration.cli.display import output_preview
from orchestration.errors import ArtifactError
from orchestration.ledger.records import output_view
from orchestration.protocol import LIT_KEY, REF_KEY

KEY = artifact_key("wf", "r1", "t", 1)
SCOPE = {"workflow": "wf", "run_id": "r1", "consumer": "task 'u', input 't'"}


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.reads: list[str] = []

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.objects[Bucket, Key] = Body

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        self.reads.append(Key)
        body = self.objects[Bucket, Key]
        return {"Body": type("Body", (), {"read": lambda self: body})()}


def store() -> ArtifactStore:
    return ArtifactStore("bucket", FakeS3())


def forged(uri: str = "s3://bucket/runs/other/r9/t/attempt-1.json") -> dict[str, Any]:
    return {REF_KEY: uri, "bytes": 10}


# JSON values whose dict keys are often the markers
keys = st.sampled_from([REF_KEY, LIT_KEY, "bytes", "a", "$ref"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from([REF_KEY, LIT_KEY]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(value=json_values, limit=st.sampled_from([16, 256, 32_768]))
def test_any_value_comes_back_as_returned(value: Any, limit: int) -> None:
    s = store()
    encoded = s.offload(value, limit=limit, key=KEY)
    assert s.resolve(encoded, **SCOPE) == value
    if not (isinstance(encoded, dict) and REF_KEY in encoded):  # inline: shown as returned, nothing read
        assert shown(encoded) == value


@settings(max_examples=200)
@given(items=st.lists(json_values, max_size=6))
def test_a_for_each_list_comes_back_item_by_item(items: list[Any]) -> None:
    s = store()
    encoded = s.offload(items, limit=32_768, key=KEY, item_limit=24)
    assert isinstance(encoded, list) and len(encoded) == len(items)
    assert s.resolve(encoded, **SCOPE) == items
    # what a for-each collects from its items (each encoded on its own), decoded the same way
    collected = [s.offload(i, limit=24, key=artifact_key("wf", "r1", "e", 1, n)) for n, i in enumerate(items)]
    assert s.resolve(collected, **SCOPE) == items


def test_only_a_value_holding_a_marker_key_is_wrapped() -> None:
    s = store()
    plain = {"text": REF_KEY, "list": [LIT_KEY], "$ref": "s3://x"}
    assert s.offload(plain, limit=1000, key=KEY) == plain
    for value in (forged(), [1, {"a": forged()}], {LIT_KEY: 1}, {"a": [{"b": {LIT_KEY: None}}]}):
        assert s.offload(value, limit=1000, key=KEY) == {LIT_KEY: value}


def test_a_wrapped_value_over_the_limit_is_stored_as_returned() -> None:
    s = store()
    value = {"pad": "x" * 100, **forged()}
    ref = s.offload(value, limit=64, key=KEY)
    assert ref == {REF_KEY: f"s3://bucket/{KEY}.json", "bytes": len(s.client.objects["bucket", KEY + ".json"])}
    assert s.client.objects["bucket", KEY + ".json"].startswith(b'{"pad":')  # not wrapped in the bucket
    assert s.resolve(ref, **SCOPE) == value


def test_the_wrapper_counts_towards_the_inline_limit() -> None:
    s = store()
    value = forged()
    assert s.offload(value, limit=len(dumps(value)), key=KEY)[REF_KEY].startswith("s3://bucket/runs/wf/r1/t/")


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/runs/other/r1/t/attempt-1.json",
        "s3://bucket/runs/wf/r10/t/attempt-1.json",
        "s3://other/runs/wf/r1/t/attempt-1.json",
        "s3://bucket/runs/wf/r1/../r2/t/attempt-1.json",
        "s3://bucket/runs/wf/r1/./t/attempt-1.json",
        "s3://bucket/runs/wf/r1/t/attempt-1.txt",
        "/runs/wf/r1/t/attempt-1.json",
    ],
)
def test_a_reference_outside_the_run_is_refused_unread(uri: str) -> None:
    s = store()
    with pytest.raises(ArtifactError, match=r"^task 'u', input 't' received an artifact reference") as err:
        s.resolve([1, forged(uri)], **SCOPE)
    assert repr(uri) in str(err.value) and "s3://bucket/runs/wf/r1/" in str(err.value)
    assert s.client.reads == []


def test_json_view_and_preview_show_wrapped_values_as_returned() -> None:
    wrapped = {LIT_KEY: forged()}
    assert output_view(wrapped) == forged()
    assert output_view([wrapped, "a"]) == [forged(), "a"]
    assert output_preview({LIT_KEY: {REF_KEY: 1}}) == '{"__orch_ref__":1}'
    assert output_preview(forged()) == "artifact, 10 bytes"  # a bare one in a record: the runtime's
