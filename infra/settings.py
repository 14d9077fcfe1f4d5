"""Stack settings, read from CDK context (`cdk deploy -c key=value` or the "context" of cdk.json).

| context key              | default                 | meaning                                                  |
|--------------------------|-------------------------|----------------------------------------------------------|
| `stackName`              | `orch`                  | CloudFormation stack name; prefixes state machine names  |
| `workflows`              | `workflows`             | folder (every *.py) or one .py file, relative to the project |
| `triggers`               | `true`                  | `false` deploys schedules and event rules disabled       |
| `tags`                   | none                    | tags for every resource: a JSON object `{"team": "data"}` |
| `artifactRetentionDays`  | `30`                    | lifecycle: artifacts (task outputs) expire after N days  |
| `logRetentionDays`       | `30`                    | retention of state machine and function log groups       |
| `alertEmail`             | none                    | e-mail address subscribed to the failure-alert topic     |
| `retainData`             | `true`                  | keep the ledger table and bucket when the stack is deleted |
| `powertoolsLayerArn`     | AWS's public layer      | Lambda layer with Powertools and pydantic (see below)    |
| `powertoolsLayerVersion` | `27`                    | version of AWS's public Powertools V3 layer              |
| `nag`                    | `true`                  | run the cdk-nag AwsSolutions checks at synth             |
| `architecture`           | `x86_64`                | Lambda architecture of every function: x86_64 or arm64   |
| `requirements`           | `requirements.txt`      | task dependencies, relative to the root (none if absent) |
| `logKmsKeyArn`           | none                    | KMS key ARN for every log group (docs/deploy.md "Logs")  |
| `triggerReservedConcurrency` | none                | reserved concurrency of each trigger function            |
| `alarmPeriodMinutes`     | `5`                     | period every alarm sums its metric over (1-1440 minutes) |
| `failedRunsThreshold`    | `0`                     | alarm when more runs than this end FAILED in a period    |
| `functionErrorsThreshold` | `0`                    | alarm when the stack's functions fail more often than this |
| `throttlesThreshold`     | `0`                     | alarm when more invocations than this are throttled      |
| `timedOutRunsThreshold`  | `0`                     | alarm when more executions than this time out            |
| `lineageUrl`             | none                    | OpenLineage endpoint the recorder sends run events to  |
| `lineageApiKeySecret`    | none                    | name of the secret holding its API key (Bearer token)    |
| `lineageNamespace`       | `orchestration`         | OpenLineage namespace of the jobs (docs/lineage.md)      |
| `nestedWorkflows`        | `false`                 | `true` puts every workflow in a nested stack (needed past 30) |

The functions run on Python 3.13 with AWS's public "Powertools for AWS Lambda (Python) V3" layer
(`AWSLambdaPowertoolsPythonV3-python313-<architecture>`), which also carries pydantic v2. The
packages listed in `requirements` (and in `<workflow>.requirements.txt` next to a workflow file) are
installed into the code asset by pip for the functions' platform (orchestration/dependencies.py):
synth needs no Docker, and the network only while the dependency cache is cold.

The alarms (infra/constructs/monitoring.py, docs/deploy.md "Monitoring") notify the alert topic when
their sum over one period is above its threshold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.dependencies import ARCHITECTURES, LAMBDA_PYTHON, REQUIREMENTS
from orchestration.errors import OrchestrationError
from orchestration.lineage import DEFAULT_NAMESPACE
from orchestration.permissions import SECRET_NAME_RE
from orchestration.runtime.registry import Env

TAG_KEY_RE = re.compile(r"^[\w\s.:/=+\-@]{1,128}$")
TAG_VALUE_RE = re.compile(r"^[\w\s.:/=+\-@]{0,256}$")
KMS_KEY_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,29}$")
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
POWERTOOLS_ACCOUNT = "017000801446"
PYTHON_VERSION = LAMBDA_PYTHON  # the functions' runtime, the Powertools layer and the bundled wheels agree


class InfraError(OrchestrationError):
    """The project cannot be turned into a stack: a setting or a workflow is unusable."""


@dataclass(frozen=True)
class Settings:
    stack_name: str = "orch"
    workflows: str = "workflows"
    triggers: bool = True
    tags: tuple[tuple[str, str], ...] = ()
    artifact_retention_days: int = 30
    log_retention_days: int = 30
    alert_email: str | None = None
    retain_data: bool = True
    powertools_layer_arn: str | None = None
    powertools_layer_version: int = 27
    nag: bool = True
    architecture: str = "x86_64"
    requirements: str = REQUIREMENTS
    log_kms_key_arn: str | None = None
    trigger_reserved_concurrency: int | None = None
    alarm_period_minutes: int = 5
    failed_runs_threshold: int = 0
    function_errors_threshold: int = 0
    throttles_threshold: int = 0
    timed_out_runs_threshold: int = 0
    lineage_url: str | None = None
    lineage_api_key_secret: str | None = None
    lineage_namespace: str = DEFAULT_NAMESPACE
    nested_workflows: bool = False

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> Settings:
        """`get` is `app.node.try_get_context`; context values given with -c arrive as strings."""
        problems: list[str] = []

        def text(key: str, default: str | None) -> str | None:
            value = get(key)
            return default if value is None or value == "" else str(value)

        def integer(key: str, default: int) -> int:
            value = get(key)
            if value is None or value == "":
                return default
            try:
                return int(str(value))
            except ValueError:
                problems.append(f"context {key}={value!r} is not a whole number: pass e.g. -c {key}={default}")
                return default

        def boolean(key: str, default: bool) -> bool:
            value = get(key)
            if value is None or value == "":
                return default
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "yes"):
                return True
            if str(value).lower() in ("false", "0", "no"):
                return False
            problems.append(f"context {key}={value!r} is not a boolean: pass -c {key}=true or -c {key}=false")
            return default

        def tags(key: str) -> tuple[tuple[str, str], ...]:
            value = get(key)
            if value is None or value == "":
                return ()
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    value = None
            if not isinstance(value, dict) or not all(isinstance(v, str | int | float) for v in value.values()):
                problems.append(
                    f"context {key}={get(key)!r} is not an object of tag names to values: pass e.g. "
                    f'-c \'{key}={{"team": "data"}}\' or a "{key}" object in cdk.json'
                )
                return ()
            return tuple(sorted((str(k), str(v)) for k, v in value.items()))

        s = cls(
            stack_name=text("stackName", cls.stack_name) or cls.stack_name,
            workflows=text("workflows", cls.workflows) or cls.workflows,
            triggers=boolean("triggers", cls.triggers),
            tags=tags("tags"),
            artifact_retention_days=integer("artifactRetentionDays", cls.artifact_retention_days),
            log_retention_days=integer("logRetentionDays", cls.log_retention_days),
            alert_email=text("alertEmail", None),
            retain_data=boolean("retainData", cls.retain_data),
            powertools_layer_arn=text("powertoolsLayerArn", None),
            powertools_layer_version=integer("powertoolsLayerVersion", cls.powertools_layer_version),
            nag=boolean("nag", cls.nag),
            architecture=text("architecture", cls.architecture) or cls.architecture,
            requirements=text("requirements", cls.requirements) or cls.requirements,
            log_kms_key_arn=text("logKmsKeyArn", None),
            trigger_reserved_concurrency=(
                None if get("triggerReservedConcurrency") in (None, "") else integer("triggerReservedConcurrency", 1)
            ),
            alarm_period_minutes=integer("alarmPeriodMinutes", cls.alarm_period_minutes),
            failed_runs_threshold=integer("failedRunsThreshold", cls.failed_runs_threshold),
            function_errors_threshold=integer("functionErrorsThreshold", cls.function_errors_threshold),
            throttles_threshold=integer("throttlesThreshold", cls.throttles_threshold),
            timed_out_runs_threshold=integer("timedOutRunsThreshold", cls.timed_out_runs_threshold),
            lineage_url=text("lineageUrl", None),
            lineage_api_key_secret=text("lineageApiKeySecret", None),
            lineage_namespace=text("lineageNamespace", cls.lineage_namespace) or cls.lineage_namespace,
            nested_workflows=boolean("nestedWorkflows", cls.nested_workflows),
        )
        problems.extend(s.problems())
        if problems:
            raise InfraError("bad stack settings:\n" + "\n".join(f"  - {p}" for p in problems))
        return s

    def problems(self) -> list[str]:
        out = []
        if not STACK_NAME_RE.match(self.stack_name):
            out.append(
                f"stackName={self.stack_name!r}: use 1-30 letters, digits or '-', starting with a letter "
                "(it prefixes every state machine name)"
            )
        if not 1 <= self.artifact_retention_days <= 36_500:
            out.append(f"artifactRetentionDays={self.artifact_retention_days}: use 1 to 36500 days")
        if self.log_retention_days not in RETENTION_DAYS:
            allowed = ", ".join(map(str, RETENTION_DAYS))
            out.append(f"logRetentionDays={self.log_retention_days}: CloudWatch Logs accepts only {allowed}")
        if self.alert_email is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", self.alert_email):
            out.append(f"alertEmail={self.alert_email!r} is not an e-mail address")
        if self.powertools_layer_arn is not None and not self.powertools_layer_arn.startswith("arn:"):
            out.append(f"powertoolsLayerArn={self.powertools_layer_arn!r} is not an ARN: pass a layer version ARN")
        if self.powertools_layer_version < 1:
            out.append(f"powertoolsLayerVersion={self.powertools_layer_version}: use a positive layer version")
        for key, value in self.tags:
            if not TAG_KEY_RE.match(key) or key.lower().startswith("aws:"):
                out.append(f"tag name {key!r}: use 1-128 letters, digits, spaces or _.:/=+-@, not starting with 'aws:'")
            if not TAG_VALUE_RE.match(value):
                out.append(f"tag {key!r} value {value!r}: use at most 256 letters, digits, spaces or _.:/=+-@")
        if self.log_kms_key_arn is not None and not KMS_KEY_ARN_RE.match(self.log_kms_key_arn):
            out.append(
                f"logKmsKeyArn={self.log_kms_key_arn!r} is not a KMS key ARN: pass "
                "arn:aws:kms:<region>:<account>:key/<key id> (CloudWatch Logs takes no alias)"
            )
        if self.trigger_reserved_concurrency is not None and self.trigger_reserved_concurrency < 1:
            out.append(
                f"triggerReservedConcurrency={self.trigger_reserved_concurrency}: use a positive whole number "
                "(or leave it unset for the account's unreserved pool)"
            )
        if not 1 <= self.alarm_period_minutes <= 1440:
            out.append(f"alarmPeriodMinutes={self.alarm_period_minutes}: use 1 to 1440 minutes")
        thresholds = {
            "failedRunsThreshold": self.failed_runs_threshold,
            "functionErrorsThreshold": self.function_errors_threshold,
            "throttlesThreshold": self.throttles_threshold,
            "timedOutRunsThreshold": self.timed_out_runs_threshold,
        }
        for name, threshold in thresholds.items():
            if threshold < 0:
                out.append(f"{name}={threshold}: use 0 (alarm on the first one) or more")
        out.extend(self._lineage_problems())
        if self.architecture not in ARCHITECTURES:
            out.append(f"architecture={self.architecture!r}: use one of {', '.join(ARCHITECTURES)}")
        return out

    def _lineage_problems(self) -> list[str]:
        out = []
        if self.lineage_url is not None and not re.match(r"^https?://[^\s/]+(/\S*)?$", self.lineage_url):
            out.append(
                f"lineageUrl={self.lineage_url!r} is not an http(s) URL: pass the OpenLineage endpoint's base, "
                "e.g. https://marquez.example.com (events go to its api/v1/lineage)"
            )
        if self.lineage_api_key_secret is not None:
            if self.lineage_url is None:
                out.append("lineageApiKeySecret is set without lineageUrl: set both, or neither")
            if not SECRET_NAME_RE.match(self.lineage_api_key_secret):
                out.append(
                    f"lineageApiKeySecret={self.lineage_api_key_secret!r} is not a secret name: "
                    "use 1-512 letters, digits or /_+=.@- (the name, not the value)"
                )
        if not re.match(r"^\S{1,255}$", self.lineage_namespace):
            out.append(f"lineageNamespace={self.lineage_namespace!r}: use 1-255 characters without spaces")
        return out

    def lineage_environment(self) -> dict[str, str]:
        """The recorder's lineage variables (none without lineageUrl); the API key's secret by name only."""
        if self.lineage_url is None:
            return {}
        env = {Env.LINEAGE_URL: self.lineage_url, Env.LINEAGE_NAMESPACE: self.lineage_namespace}
        if self.lineage_api_key_secret:
            env[Env.LINEAGE_API_KEY_SECRET] = self.lineage_api_key_secret
        return env
