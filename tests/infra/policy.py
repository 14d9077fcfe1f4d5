"""A small IAM policy evaluator over a synthesized template, for isolation tests.

It resolves the intrinsic functions CDK emits (Ref, Fn::GetAtt, Fn::Join, Fn::Sub) to concrete ARNs
(a resource's name is its logical id) and evaluates a request against a role's identity policies the
way IAM does for one account: an explicit Deny wins, then any Allow whose action, resource and
conditions all match. A condition operator it does not know never matches (fails closed).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

REGION, ACCOUNT = "us-east-1", "123456789012"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}
_ARN = {  # resource type -> (Fn::GetAtt Arn, Ref)
    "AWS::S3::Bucket": ("arn:aws:s3:::{name}", "{name}"),
    "AWS::DynamoDB::Table": (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{{name}}", "{name}"),
    "AWS::Lambda::Function": (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{name}}", "{name}"),
    "AWS::SQS::Queue": (f"arn:aws:sqs:{REGION}:{ACCOUNT}:{{name}}", f"https://sqs.{REGION}.amazonaws.com/q/{{name}}"),
    "AWS::SNS::Topic": (f"arn:aws:sns:{REGION}:{ACCOUNT}:{{name}}", f"arn:aws:sns:{REGION}:{ACCOUNT}:{{name}}"),
    "AWS::StepFunctions::StateMachine": (
        f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{name}}",
        f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{name}}",
    ),
    "AWS::Logs::LogGroup": (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{name}}:*", "{name}"),
    "AWS::IAM::Role": (f"arn:aws:iam::{ACCOUNT}:role/{{name}}", "{name}"),
}


class Template:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.resources: Mapping[str, Mapping[str, Any]] = raw["Resources"]

    def name(self, logical_id: str) -> str:
        props = self.resources[logical_id].get("Properties", {})
        for key in ("StateMachineName", "FunctionName", "TableName", "BucketName", "LogGroupName"):
            if isinstance(props.get(key), str):
                return str(props[key])
        return logical_id.lower() if self.resources[logical_id]["Type"] == "AWS::S3::Bucket" else logical_id

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        ((fn, arg),) = value.items()
        if fn == "Ref":
            if arg in PSEUDO:
                return PSEUDO[arg]
            return _ARN[self.resources[arg]["Type"]][1].format(name=self.name(arg))
        if fn == "Fn::GetAtt":
            logical_id, attribute = arg
            assert attribute == "Arn", f"unsupported attribute {attribute}"
            return _ARN[self.resources[logical_id]["Type"]][0].format(name=self.name(logical_id))
        if fn == "Fn::Join":
            sep, parts = arg
            return str(sep).join(self.resolve(p) for p in parts)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            names = {**PSEUDO, **{k: self.resolve(v) for k, v in variables.items()}}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub(m.group(1), names), text).replace("${!", "${")
        raise AssertionError(f"unsupported intrinsic {fn}")

    def _sub(self, name: str, names: Mapping[str, str]) -> str:
        if name in names:
            return names[name]
        logical_id, _, attribute = name.partition(".")
        return self.resolve({"Fn::GetAtt": [logical_id, attribute]} if attribute else {"Ref": logical_id})

    def statements(self, role_logical_id: str) -> list[dict[str, Any]]:
        """Every statement of the identity policies attached to the role."""
        out: list[dict[str, Any]] = []
        for res in self.resources.values():
            if res["Type"] != "AWS::IAM::Policy":
                continue
            if {"Ref": role_logical_id} in res["Properties"].get("Roles", []):
                out.extend(res["Properties"]["PolicyDocument"]["Statement"])
        return out

    def allowed(
        self, role_logical_id: str, action: str, resource: str, context: Mapping[str, Sequence[str]] | None = None
    ) -> bool:
        context = context or {}
        matching = [s for s in self.statements(role_logical_id) if self._matches(s, action, resource, context)]
        if any(s["Effect"] == "Deny" for s in matching):
            return False
        return any(s["Effect"] == "Allow" for s in matching)

    def _matches(self, st: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Sequence[str]]) -> bool:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
            return False
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if not any(fnmatch.fnmatchcase(resource, self.resolve(r)) for r in resources):
            return False
        return all(_condition(op, block, context) for op, block in st.get("Condition", {}).items())


def _condition(op: str, block: Mapping[str, Any], context: Mapping[str, Sequence[str]]) -> bool:
    for key, expected in block.items():
        wanted = expected if isinstance(expected, list) else [expected]
        values = context.get(key)
        if values is None:
            return False
        if op == "StringEquals":
            ok = all(v in wanted for v in values) and bool(values)
        elif op == "StringLike":
            ok = bool(values) and all(any(fnmatch.fnmatchcase(v, w) for w in wanted) for v in values)
        elif op == "ForAllValues:StringLike":
            ok = all(any(fnmatch.fnmatchcase(v, w) for w in wanted) for v in values)
        elif op == "ForAllValues:StringEquals":
            ok = all(v in wanted for v in values)
        else:
            return False
        if not ok:
            return False
    return True
