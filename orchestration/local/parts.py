"""A split workflow's parts as state machines of the local cloud (`compiler.split`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestration.compiler import Part, part_machine_name, part_placeholder, render, to_json


def deploy_parts(
    sfn: Any, role_arn: str, machine: str, parts: Sequence[Part], arns: Mapping[str, str]
) -> dict[str, str]:
    """Create each part's state machine (named after the workflow's); its placeholder -> its ARN."""
    return {
        part_placeholder(part.number): sfn.create_state_machine(
            name=part_machine_name(machine, part.number),
            definition=render(to_json(part.definition), arns),
            roleArn=role_arn,
        )["stateMachineArn"]
        for part in parts
    }
