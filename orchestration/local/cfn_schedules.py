"""Gap 5 of `cfn_adapter`: moto's CloudFormation skips AWS::Scheduler::Schedule and ScheduleGroup;
these resource classes keep them in moto's Scheduler (moto calls their class methods as it does a
CloudFormationModel's), so the stack lists them with their names as physical ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestration.errors import OrchestrationError


class ScheduleResource:
    """Gap 5: an AWS::Scheduler::Schedule of a CloudFormation stack, kept in moto's Scheduler (moto
    calls these class methods as it does a CloudFormationModel's)."""

    TYPE = "AWS::Scheduler::Schedule"

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule

    @property
    def physical_resource_id(self) -> str:
        return str(self.schedule.name)  # Ref of a schedule: its name

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute: str) -> str:
        if attribute != "Arn":
            raise OrchestrationError(f"{self.TYPE} has no attribute {attribute!r} in this adapter")
        return str(self.schedule.arn)

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Mapping[str, Any], account_id: str, region_name: str, **_: Any
    ) -> ScheduleResource:
        from moto.scheduler.models import scheduler_backends

        props = cloudformation_json["Properties"]
        name = props.get("Name") or resource_name[:64]
        schedule = scheduler_backends[account_id][region_name].create_schedule(
            description=props.get("Description"),
            end_date=props.get("EndDate"),
            flexible_time_window=props["FlexibleTimeWindow"],
            group_name=props.get("GroupName"),
            kms_key_arn=props.get("KmsKeyArn"),
            name=name,
            schedule_expression=props["ScheduleExpression"],
            schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
            start_date=props.get("StartDate"),
            state=props.get("State"),
            target=dict(props["Target"]),
            action_after_completion=None,
        )
        return cls(schedule)


class ScheduleGroupResource:
    """Gap 5: an AWS::Scheduler::ScheduleGroup (the stack's timer group), kept in moto's Scheduler."""

    TYPE = "AWS::Scheduler::ScheduleGroup"

    def __init__(self, name: str, arn: str) -> None:
        self.name, self.arn = name, arn

    @property
    def physical_resource_id(self) -> str:
        return self.name  # Ref of a schedule group: its name

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute: str) -> str:
        if attribute != "Arn":
            raise OrchestrationError(f"{self.TYPE} has no attribute {attribute!r} in this adapter")
        return self.arn

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Mapping[str, Any], account_id: str, region_name: str, **_: Any
    ) -> ScheduleGroupResource:
        from moto.scheduler.models import scheduler_backends

        name = cloudformation_json["Properties"].get("Name") or resource_name[:64]
        group = scheduler_backends[account_id][region_name].create_schedule_group(name=name, tags=[])
        return cls(name, str(group.arn))
