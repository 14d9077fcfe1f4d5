"""CloudFormation and IAM quotas, checked on the synthesized template before anything is deployed.

AWS refuses a stack over these at deploy time (or, for a role's policies, halfway through it);
`check_template` names each one exceeded and what to do, so `cdk synth` fails instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_RESOURCES = 500  # resources per stack
MAX_TEMPLATE_BYTES = 1_000_000  # a template uploaded through S3 (CDK does so past 51,200 bytes)
MAX_OUTPUTS = 200  # outputs per stack
MAX_ROLE_POLICY_CHARS = 10_240  # a role's inline policies together, whitespace excluded
MAX_ROLE_MANAGED_POLICIES = 10  # managed policies attached to a role (CDK moves a large policy into them)
MAX_FUNCTION_ENV_BYTES = 4_096  # a Lambda function's environment variables, names and values together


def check_template(template: Mapping[str, Any]) -> list[str]:
    """What in the synthesized template exceeds a CloudFormation or IAM quota (empty: none)."""
    problems = []
    resources: Mapping[str, Any] = template.get("Resources", {})
    if len(resources) > MAX_RESOURCES:
        problems.append(
            f"the stack has {len(resources)} resources, over CloudFormation's {MAX_RESOURCES} per stack: "
            "deploy fewer workflows per stack (split the workflows folder over several stacks)"
        )
    size = len(json.dumps(template, separators=(",", ":")).encode())
    if size > MAX_TEMPLATE_BYTES:
        problems.append(
            f"the template is {size:,} bytes, over CloudFormation's {MAX_TEMPLATE_BYTES:,}: "
            "deploy fewer workflows per stack"
        )
    outputs = template.get("Outputs", {})
    if len(outputs) > MAX_OUTPUTS:
        problems.append(f"the stack has {len(outputs)} outputs, over CloudFormation's {MAX_OUTPUTS}")
    for logical_id, res in sorted(resources.items()):
        env = (res.get("Properties", {}).get("Environment") or {}).get("Variables") or {}
        size = sum(len(str(k)) + (len(v) if isinstance(v, str) else _chars(v)) for k, v in env.items())
        if res.get("Type") == "AWS::Lambda::Function" and size > MAX_FUNCTION_ENV_BYTES:
            problems.append(
                f"function {logical_id}'s environment takes about {size:,} bytes, over Lambda's "
                f"{MAX_FUNCTION_ENV_BYTES:,}: shorten it (a task's env=; the recorder's lists the stack's "
                "workflows: fewer workflows per stack or shorter names)"
            )
    for role, chars in sorted(_role_policy_chars(resources).items()):
        if chars > MAX_ROLE_POLICY_CHARS:
            problems.append(
                f"role {role}'s inline policies take about {chars:,} characters, over IAM's "
                f"{MAX_ROLE_POLICY_CHARS:,} per role: give the task fewer or broader permissions "
                "(e.g. one s3_read of a prefix instead of many keys)"
            )
    for role, count in sorted(_role_managed_policies(resources).items()):
        if count > MAX_ROLE_MANAGED_POLICIES:
            problems.append(
                f"role {role} would have {count} managed policies attached (CDK splits a large policy), over "
                f"IAM's default {MAX_ROLE_MANAGED_POLICIES} per role: give the task fewer or broader permissions "
                "(e.g. one s3_read of a prefix instead of many keys)"
            )
    return problems


def _role_managed_policies(resources: Mapping[str, Any]) -> dict[str, int]:
    """Per role logical id: the managed policies attached to it."""
    counts: dict[str, int] = {}
    for logical_id, res in resources.items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::IAM::Role":
            counts[logical_id] = counts.get(logical_id, 0) + len(props.get("ManagedPolicyArns", []))
        elif res.get("Type") == "AWS::IAM::ManagedPolicy":
            for role in props.get("Roles", []):
                if isinstance(role, Mapping) and "Ref" in role:
                    counts[role["Ref"]] = counts.get(role["Ref"], 0) + 1
    return counts


def _role_policy_chars(resources: Mapping[str, Any]) -> dict[str, int]:
    """Per role logical id: the characters of its inline policies (as in the template, without
    whitespace; an ARN that CloudFormation fills in is about as long as the reference to it)."""
    chars: dict[str, int] = {}
    for logical_id, res in resources.items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                chars[logical_id] = chars.get(logical_id, 0) + _chars(policy.get("PolicyDocument"))
        elif res.get("Type") == "AWS::IAM::Policy":
            for role in props.get("Roles", []):
                if isinstance(role, Mapping) and "Ref" in role:
                    chars[role["Ref"]] = chars.get(role["Ref"], 0) + _chars(props.get("PolicyDocument"))
    return chars


def _chars(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")))
