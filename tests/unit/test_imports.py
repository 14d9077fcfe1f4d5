"""The model and compiler are pure: importing them never imports the AWS SDK."""

from __future__ import annotations

from tests.helpers import AWS_SDK, modules_loaded_by


def test_core_imports_no_boto3() -> None:
    code = (
        "import orchestration, orchestration.compiler, orchestration.model, orchestration.graph, "
        "orchestration.validation, orchestration.render, orchestration.loader\n"
        "from orchestration import compile_workflow, load_workflow\n"
        "compile_workflow(load_workflow('examples/etl.py'))"
    )
    assert modules_loaded_by(code, *AWS_SDK) == []


def test_public_api_is_small_and_explicit() -> None:
    import orchestration

    assert set(orchestration.__all__) >= {"Workflow", "Retry", "RunIf", "Param", "Resources", "compile_workflow"}
    for name in orchestration.__all__:
        assert hasattr(orchestration, name)
