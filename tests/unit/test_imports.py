"""The model and compiler are pure: importing them never imports the AWS SDK; the Lambda functions' cold
import stays off the compiler, validation, trigger checks and the X-Ray SDK."""

from __future__ import annotations

import importlib

import pytest

from orchestration.runtime.registry import FUNCTIONS
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


# What a Lambda function never needs at init: the compiler (the trigger function compiles on a start
# only, to hash the definition), validation, the planner, trigger checks and the X-Ray SDK (the Tracer
# is built on the first invocation).
NOT_AT_INIT = ("orchestration.compiler", "orchestration.validation", "orchestration.graph", "aws_xray_sdk")
TRIGGER_CODE = ("orchestration.triggers",)


@pytest.mark.parametrize("fn", [f.name for f in FUNCTIONS])
def test_lambda_entry_points_import_no_compiler_validation_or_tracer(fn: str) -> None:
    # the trigger function reads trigger declarations; the recorder a continuous chain's rules
    allowed_triggers = fn in ("trigger", "recorder")
    banned = NOT_AT_INIT if allowed_triggers else NOT_AT_INIT + TRIGGER_CODE
    assert modules_loaded_by(f"import functions.{fn}", *banned) == []


def test_trigger_functions_import_declarations_not_checks() -> None:
    loaded = modules_loaded_by("import functions.trigger, functions.recorder", "orchestration.triggers")
    assert "orchestration.triggers.declarations" in loaded
    assert not {"orchestration.triggers.checks", "orchestration.triggers.chains"} & set(loaded)


def test_public_api_is_lazy_and_complete() -> None:
    code = (
        "import orchestration\n"
        "assert sorted(set(dir(orchestration)) & set(orchestration.__all__)) == sorted(orchestration.__all__)\n"
        "from orchestration import Workflow, Task\n"
        "import orchestration.triggers as t\n"
        "assert callable(t.continuous) and callable(orchestration.continuous)\n"
    )
    assert modules_loaded_by(code, "orchestration.compiler", "orchestration.validation") == []
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        getattr(importlib.import_module("orchestration"), "nope")  # noqa: B009 (the error is the point)
