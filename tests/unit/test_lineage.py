"""Lineage declarations and reports (orchestration.lineage): accepted names, clear refusals, the
OpenLineage naming of each form, what an attempt records, and the deployed recorder's target."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration import Workflow
from orchestration.errors import WorkflowDefinitionError
from orchestration.ledger.records import Attempt, attempt_from_item, attempt_item
from orchestration.lineage import DatasetError, LineageReport, openlineage_name
from orchestration.runtime.lineage import target_from_env
from orchestration.runtime.registry import RECORDER, Env


def test_tasks_declare_the_datasets_they_read_and_write() -> None:
    wf = Workflow("w")

    @wf.task(reads=["s3://raw-bucket/orders/", "crm.public.customers", "crm.public.customers"], writes=["dw.orders"])
    def load() -> None: ...

    assert load.reads == ("s3://raw-bucket/orders/", "crm.public.customers")  # duplicates dropped, order kept
    assert load.writes == ("dw.orders",)
    assert wf.tasks["load"].reads == load.reads


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("reads", ["orders"], "task 'load': reads=: 'orders' is not a dataset name"),
        ("writes", ["s3://Bad_Bucket/x"], "does not name a valid S3 bucket ('Bad_Bucket')"),
        ("reads", ["s3://bucket"], "'s3://bucket' has no object key or prefix"),
        ("reads", ["s3://bucket/raw/*.csv"], "or one with spaces or wildcards"),
        ("reads", ["postgres://db/x.y"], "'postgres://db/x.y' is not a dataset name"),
        ("writes", "dw.orders", "takes a list of datasets, got the string 'dw.orders': write ['dw.orders']"),
        ("reads", [42], "a dataset is a string"),
    ],
)
def test_bad_declarations_name_the_value_and_the_accepted_forms(option: str, value: Any, fragment: str) -> None:
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError) as info:

        @wf.task(**{option: value})
        def load() -> None: ...

    message = str(info.value)
    assert fragment in message
    assert "s3://bucket/key" in message and "namespace.name" in message


def test_openlineage_names_follow_the_spec_conventions() -> None:
    assert openlineage_name("s3://raw-bucket/orders/2026/") == ("s3://raw-bucket", "orders/2026/")
    assert openlineage_name("warehouse.orders") == ("warehouse", "orders")
    assert openlineage_name("crm.public.customers") == ("crm", "public.customers")


def test_a_report_keeps_declared_then_reported_datasets_and_refuses_bad_names() -> None:
    report = LineageReport("load", ["s3://bkt/in/"], ["dw.out"])
    report.read("crm.customers")
    report.read("s3://bkt/in/")  # already declared
    report.wrote("s3://bkt/out/part-0.parquet")
    assert report.recorded() == {
        "inputs": ["s3://bkt/in/", "crm.customers"],
        "outputs": ["dw.out", "s3://bkt/out/part-0.parquet"],
    }
    with pytest.raises(DatasetError, match=r"task 'load': ctx.lineage.wrote: 'nope' is not a dataset name"):
        report.wrote("nope")
    assert LineageReport("t").recorded() is None


def test_an_attempt_item_keeps_its_datasets_and_leaves_them_out_when_none() -> None:
    used = {"inputs": ["s3://bkt/in/"], "outputs": ["dw.out"]}
    with_sets = attempt_item("w", "r1", Attempt("t", 1, "SUCCEEDED", "2026-01-01T00:00:00.000Z", datasets=used))
    assert attempt_from_item(with_sets).datasets == used
    without = attempt_item("w", "r1", Attempt("t", 1, "SUCCEEDED", "2026-01-01T00:00:00.000Z"))
    assert "datasets" not in without and attempt_from_item(without).datasets is None


def test_the_deployed_recorder_sends_lineage_only_when_a_url_is_set() -> None:
    assert {Env.LINEAGE_URL, Env.LINEAGE_API_KEY_SECRET, Env.LINEAGE_NAMESPACE} <= set(RECORDER.optional_env)
    assert target_from_env({}) is None
    target = target_from_env({Env.LINEAGE_URL: "https://m.example.com", Env.LINEAGE_API_KEY_SECRET: "ol/key"})
    assert target is not None
    assert (target.url, target.api_key_secret, target.namespace, target.file) == (
        "https://m.example.com",
        "ol/key",
        "orchestration",
        None,
    )
