"""Deploy a synthesized CDK template into the in-process moto and run it: the one place that bridges
what moto's CloudFormation and EventBridge do not do (moto 5.2.x).

`DeployedStack` uploads the cloud assembly's assets to the bootstrap bucket, creates the bootstrap
SSM parameter and calls CloudFormation `create_stack` with the template as synthesized. Gaps, each
bridged here and nowhere else:

1. DefinitionSubstitutions (and DefinitionS3Location) are ignored by moto and its CloudFormation
   creates state machines in a store the executing interpreter does not read: while the stack is created,
   `StateMachine.create_from_cloudformation_json` is replaced by one that renders the substitutions
   (with the compiler's `render`, as CloudFormation would) and creates the machine in the
   executing backend under the same name and role.
2. Lambda functions do not run without Docker: every deployed function is answered in-process
   (through `moto_adapter.Adapter`) by the handler its configuration names, built from that
   function's own environment variables and from its code asset in the cloud assembly.
3. EventBridge does not deliver to Lambda targets: `put_event` matches the event against the
   deployed rules with moto's own pattern matcher (real EventBridge semantics), applies each
   target's InputTransformer and invokes the target function. `emit_status_change` produces the
   "Step Functions Execution Status Change" event AWS would emit when an execution ends.
4. EventBridge Scheduler never fires: `fire_schedule` reads the schedule's target from the template
   and invokes it with the `<aws.scheduler.*>` context attributes filled, as the Scheduler would
   (unless the schedule is DISABLED, e.g. paused with `orch schedule pause`).
5. moto's CloudFormation skips AWS::Scheduler::Schedule: while the stack is created, such a
   resource is created in moto's Scheduler (`ScheduleResource`), so the stack lists it with its
   name as physical id and Scheduler calls (get, update, list) find it, as on AWS; so is an
   AWS::Scheduler::ScheduleGroup (the stack's timer group). The one-time timers functions set there
   never fire by themselves: `fire_timers` fires those due, through the functions they target
   (which know their own ARN, as Lambda's context tells them). The resource classes are in
   `cfn_schedules`.
6. moto's nested stacks (AWS::CloudFormation::Stack, `nestedWorkflows`) have no `Outputs.<name>`
   attribute, through which CDK passes their values to the parent: while the stack is created, it
   reads the nested stack's output. The nested stacks' resources and functions join the parent's
   (`resources`, `of_type`, in-process handlers).
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.compiler import render
from orchestration.errors import OrchestrationError
from orchestration.local.aws import ACCOUNT, EmbeddedAws, status_change_event
from orchestration.local.cfn_schedules import ScheduleGroupResource, ScheduleResource
from orchestration.local.moto_adapter import Adapter
from orchestration.runtime.entry import bind, build_runtime
from orchestration.runtime.registry import by_handler
from orchestration.status import TERMINAL_EXECUTION
from orchestration.times import iso

BOOTSTRAP_QUALIFIER = "hnb659fds"
_ABSENT = object()  # a patched attribute the class did not have: deleted again on exit
Handler = Callable[[dict[str, Any]], Any]


def _zip_dir(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def _path_value(event: Mapping[str, Any], path: str) -> Any:
    if path == "$":
        return event
    node: Any = event
    for part in path.removeprefix("$.").split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def transform_input(event: Mapping[str, Any], transformer: Mapping[str, Any]) -> Any:
    """EventBridge's InputTransformer: paths from the event into the template's <placeholders>."""
    template = str(transformer.get("InputTemplate", ""))
    for key, path in (transformer.get("InputPathsMap") or {}).items():
        value = _path_value(event, path)
        quoted = f'"<{key}>"'
        if quoted in template:
            template = template.replace(quoted, json.dumps(value if isinstance(value, str) else json.dumps(value)))
        template = template.replace(f"<{key}>", json.dumps(value))
    return json.loads(template)


class DeployedStack:
    """Context manager: a moto account with the stack deployed and its gaps bridged."""

    def __init__(self, assembly: str | Path, stack_name: str, *, region: str = "us-east-1") -> None:
        self.assembly = Path(assembly)
        self.stack_name = stack_name
        self.region = region
        self.template: dict[str, Any] = json.loads((self.assembly / f"{stack_name}.template.json").read_text())
        self.adapter = Adapter()
        self.handlers: dict[str, Handler] = {}  # function name -> in-process handler
        self.resources: dict[str, str] = {}  # logical id -> physical id (nested stacks' included)
        self.nested: dict[str, dict[str, Any]] = {}  # nested stack name -> its template
        self.invocations: list[tuple[str, dict[str, Any]]] = []  # (function name, event)
        self._aws = EmbeddedAws(region)
        self._restore: list[tuple[Any, str, Any]] = []

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> DeployedStack:
        session = self._aws.start()
        self.session = session
        self.cfn = session.client("cloudformation")
        self.sfn = session.client("stepfunctions")
        self.lambda_ = session.client("lambda")
        self.events = session.client("events")
        self.dynamodb = session.client("dynamodb")
        self.s3 = session.client("s3")
        self.sns = session.client("sns")
        self.scheduler = session.client("scheduler")
        self.adapter.install()
        try:
            self._deploy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        while self._restore:
            owner, name, value = self._restore.pop()
            if value is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        self.adapter.uninstall()
        self._aws.stop()

    # -- deployment -------------------------------------------------------------------------

    def _deploy(self) -> None:
        bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{ACCOUNT}-{self.region}"
        self.s3.create_bucket(Bucket=bucket)
        manifest = json.loads((self.assembly / f"{self.stack_name}.assets.json").read_text())
        for asset in manifest.get("files", {}).values():
            source = self.assembly / asset["source"]["path"]
            for dest in asset["destinations"].values():
                body = _zip_dir(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
                self.s3.put_object(Bucket=bucket, Key=dest["objectKey"], Body=body)
        self.session.client("ssm").put_parameter(
            Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value="30", Type="String", Overwrite=True
        )
        self._patch_state_machines()
        self._patch_schedules()
        self._patch_nested_outputs()
        self.cfn.create_stack(
            StackName=self.stack_name,
            TemplateBody=json.dumps(self.template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        status = self.cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]["StackStatus"]
        if status != "CREATE_COMPLETE":
            raise OrchestrationError(f"stack {self.stack_name} ended {status} in moto")
        self._collect(self.stack_name, self.template)
        for logical, res in self.of_type("AWS::Lambda::Function").items():
            self._register_function(logical, res)

    def _collect(self, stack: str, template: dict[str, Any]) -> None:
        """The physical ids of a stack's resources, and of its nested stacks' (gap 6)."""
        paginator = self.cfn.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=stack):
            for res in page["StackResourceSummaries"]:
                logical, physical = res["LogicalResourceId"], res["PhysicalResourceId"]
                if self.resources.setdefault(logical, physical) != physical:
                    raise OrchestrationError(f"logical id {logical} is in two stacks: {stack} and another")
                if res["ResourceType"] == "AWS::CloudFormation::Stack":
                    body = self.cfn.get_template(StackName=physical)["TemplateBody"]
                    nested = json.loads(body) if isinstance(body, str) else dict(body)
                    self.nested[physical] = nested
                    self._collect(physical, nested)

    def _patch_nested_outputs(self) -> None:
        """Gap 6: `Fn::GetAtt [<nested stack>, Outputs.<name>]` reads the nested stack's output."""
        from moto.cloudformation.models import Stack

        def get_cfn_attribute(stack: Any, attribute: str) -> Any:
            output = stack.output_map[attribute.removeprefix("Outputs.")] if attribute.startswith("Outputs.") else None
            if output is None:
                raise OrchestrationError(f"nested stack {stack.name} has no attribute {attribute!r} in this adapter")
            return output.value

        self._restore.append((Stack, "get_cfn_attribute", getattr(Stack, "get_cfn_attribute", _ABSENT)))
        Stack.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]

    def _patch_state_machines(self) -> None:
        """Gap 1: render DefinitionSubstitutions; create the machine where executions run."""
        from moto.stepfunctions.models import StateMachine
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        original = StateMachine.__dict__["create_from_cloudformation_json"]

        def create(
            cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
        ) -> Any:
            props = cloudformation_json["Properties"]
            definition = props.get("DefinitionString", "")
            if "DefinitionS3Location" in props:  # a large definition, uploaded as an asset
                location = props["DefinitionS3Location"]
                definition = self.s3.get_object(Bucket=location["Bucket"], Key=location["Key"])["Body"].read().decode()
            if not isinstance(definition, str):
                definition = json.dumps(definition)
            subs = {k: str(v) for k, v in (props.get("DefinitionSubstitutions") or {}).items()}
            backend = stepfunctions_parser_backends[account_id][region_name]
            return backend.create_state_machine(
                name=props.get("StateMachineName", resource_name),
                definition=render(definition, subs),
                roleArn=props.get("RoleArn", ""),
                sm_type=props.get("StateMachineType", "STANDARD"),
                loggingConfiguration=props.get("LoggingConfiguration"),
                tracingConfiguration=props.get("TracingConfiguration"),
            )

        self._restore.append((StateMachine, "create_from_cloudformation_json", original))
        StateMachine.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]

    def _patch_schedules(self) -> None:
        """Gap 5: moto's CloudFormation creates AWS::Scheduler::Schedule resources (ScheduleResource)."""
        from moto.cloudformation import parsing

        original = parsing.resource_class_from_type

        def resource_class(resource_type: str) -> Any:
            if resource_type == ScheduleGroupResource.TYPE:
                return ScheduleGroupResource
            return ScheduleResource if resource_type == ScheduleResource.TYPE else original(resource_type)

        self._restore.append((parsing, "resource_class_from_type", original))
        parsing.resource_class_from_type = resource_class

    # -- functions --------------------------------------------------------------------------

    def _code_dir(self, res: Mapping[str, Any]) -> Path:
        key = res["Properties"]["Code"]["S3Key"]
        asset_hash = key.removesuffix(".zip")
        return self.assembly / f"asset.{asset_hash}"

    def _register_function(self, logical: str, res: Mapping[str, Any]) -> None:
        """Gap 2: answer the function in-process with the handler and environment it was deployed with."""
        name = self.resources[logical]
        config = self.lambda_.get_function_configuration(FunctionName=name)
        env = dict(config.get("Environment", {}).get("Variables", {}))
        env["LAMBDA_TASK_ROOT"] = str(self._code_dir(res))
        handler = self._handler(config["Handler"], env, config["FunctionArn"])

        def call(event: dict[str, Any], _name: str = name, _handler: Handler = handler) -> Any:
            self.invocations.append((_name, event))
            return _handler(event)

        self.handlers[name] = call
        self.adapter.register(config["FunctionArn"], call)

    def _handler(self, path: str, env: Mapping[str, str], arn: str) -> Handler:
        clients = {
            "dynamodb": self.dynamodb,
            "s3": self.s3,
            "stepfunctions": self.sfn,
            "sns": self.sns,
            "scheduler": self.scheduler,
        }
        clients["events"] = self.events  # the recorder publishes run ends (moto stores them; nothing listens here)
        try:
            fn = by_handler(path)
        except LookupError as exc:
            raise OrchestrationError(f"no in-process handler: {exc}") from None
        rt = build_runtime(fn, env, clients.__getitem__)
        rt.function_arn = arn  # what Lambda's context tells a function (a timer may target it)
        return bind(fn, rt)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke a deployed function (by name or ARN) in-process; a JSON round trip as Lambda does."""
        name = function.rsplit(":", 1)[-1] if function.startswith("arn:") else function
        return json.loads(json.dumps(self.handlers[name](json.loads(json.dumps(event)))))

    # -- EventBridge ------------------------------------------------------------------------

    def put_event(self, event: Mapping[str, Any], *, bus: str = "default") -> list[dict[str, Any]]:
        """Gap 3: deliver one event to every matching rule's Lambda targets; returns what each returned."""
        from moto.events.models import EventPattern

        full = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "account": ACCOUNT,
            "region": self.region,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [],
            "detail": {},
            **dict(event),
        }
        results: list[dict[str, Any]] = []
        for rule in self.events.list_rules(EventBusName=bus)["Rules"]:
            pattern = rule.get("EventPattern")
            if not pattern or rule.get("State") != "ENABLED" or not EventPattern.load(pattern).matches_event(full):  # type: ignore[arg-type]
                continue
            for target in self.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]:
                if ":lambda:" not in target["Arn"] and ":function:" not in target["Arn"]:
                    continue
                if "InputTransformer" in target:
                    payload = transform_input(full, target["InputTransformer"])
                elif "Input" in target:
                    payload = json.loads(target["Input"])
                else:
                    payload = full
                results.append({"rule": rule["Name"], "result": self.invoke(target["Arn"], payload)})
        return results

    def emit_status_change(self, execution_arn: str) -> list[dict[str, Any]]:
        """The "Step Functions Execution Status Change" event of an execution's current status."""
        desc = self.sfn.describe_execution(executionArn=execution_arn)
        return self.put_event(status_change_event(execution_arn, desc))

    # -- Scheduler --------------------------------------------------------------------------

    def schedules(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::Scheduler::Schedule")

    def fire_schedule(self, logical_id: str, scheduled_time: datetime, *, attempt: int = 1) -> Any:
        """Gap 4: what EventBridge Scheduler sends its target when the schedule fires (None when the
        schedule is DISABLED: it does not fire)."""
        name = self.resources[logical_id]
        if self.session.client("scheduler").get_schedule(Name=name)["State"] != "ENABLED":
            return None
        target = self.schedules()[logical_id]["Properties"]["Target"]
        arn_ref = target["Arn"]["Fn::GetAtt"][0]
        text = str(target.get("Input", "{}"))
        for attr, value in {
            "scheduled-time": iso(scheduled_time).replace(".000Z", "Z"),
            "execution-id": str(uuid.uuid4()),
            "attempt-number": str(attempt),
            "schedule-arn": f"arn:aws:scheduler:{self.region}:{ACCOUNT}:schedule/default/{logical_id}",
        }.items():
            text = text.replace(f"<aws.scheduler.{attr}>", value)
        return self.invoke(self.resources[arn_ref], json.loads(text))

    # -- runs -------------------------------------------------------------------------------

    def fire_timers(self, now: datetime) -> list[str]:
        """Fire the stack's one-time timers due at `now` (`runtime.timers`), as Scheduler would; the
        names of those fired (their targets run on threads: wait for what they start)."""
        from orchestration.local.timers import LocalTimers

        (group,) = [self.resources[k] for k in self.of_type(ScheduleGroupResource.TYPE)]
        timers = LocalTimers(self.scheduler, self.adapter.handlers, group=group)
        timers.fire_due(now)
        return timers.fired

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of a type (logical id -> template entry), the nested stacks' included."""
        return {
            k: r
            for template in (self.template, *self.nested.values())
            for k, r in template["Resources"].items()
            if r["Type"] == resource_type
        }

    def state_machine_arn(self, workflow: str) -> str:
        """ARN of the deployed state machine of a workflow (named <stack>-<workflow>)."""
        for logical, res in self.of_type("AWS::StepFunctions::StateMachine").items():
            if res["Properties"].get("StateMachineName") == f"{self.stack_name}-{workflow}":
                return self.resources[logical]
        raise OrchestrationError(f"the stack has no state machine for workflow {workflow!r}")

    def wait(self, execution_arn: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """Block until the execution ends, then emit its status change (as AWS would); returns describe."""
        deadline = time.monotonic() + timeout
        while True:
            desc = self.sfn.describe_execution(executionArn=execution_arn)
            if desc["status"] in TERMINAL_EXECUTION:
                break
            if time.monotonic() > deadline:
                raise OrchestrationError(f"execution {execution_arn} still {desc['status']} after {timeout} s")
            time.sleep(0.01)
        self.emit_status_change(execution_arn)
        return dict(desc)
