"""The stack's CloudWatch dashboard and alarms, every alarm notifying the alert topic.

Run and task metrics are the ones the functions emit (`orchestration.runtime.metrics`, namespace
`Orchestration/<stack>`); function errors and throttles come from AWS/Lambda, timeouts from AWS/States.
An alarm's metric math may name at most 10 metrics: the stack's functions (and state machines) are
summed in groups of 10, one alarm per group (`FunctionErrorsAlarm`, `FunctionErrorsAlarm2`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from orchestration.runtime import metrics
from orchestration.runtime.registry import SERVICE
from orchestration.status import RunStatus

ALARM_MATH_METRICS = 10  # CloudWatch: a math expression of an alarm names at most 10 metrics
OUTCOMES = (
    RunStatus.SUCCEEDED,
    RunStatus.SUCCEEDED_WITH_FAILURES,
    RunStatus.FAILED,
    RunStatus.TIMED_OUT,
    RunStatus.ABORTED,
)
WIDGET_WIDTH = 12  # of the dashboard's 24 columns


@dataclass(frozen=True)
class Thresholds:
    """An alarm fires when its sum over one period is above its threshold (infra/settings.py)."""

    period_minutes: int = 5
    failed_runs: int = 0
    function_errors: int = 0
    throttles: int = 0
    timed_out_runs: int = 0


class Monitoring(Construct):
    """The dashboard `<stack>-orchestration` and the alarms, each with the alert topic as its action."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        topic: sns.ITopic,
        namespace: str,
        workflows: Sequence[str],
        functions: Sequence[lambda_.IFunction],
        state_machines: Sequence[sfn.IStateMachine],
        dead_letters: sqs.IQueue,
        thresholds: Thresholds,
        queued: Sequence[str] = (),
        pools: Sequence[str] = (),
    ) -> None:
        """`queued`: the workflows whose runs may wait in a queue (max_concurrent_runs, on_limit
        "queue"); `pools`: the stack's pools. Their queue depth and slots in use are graphed."""
        super().__init__(scope, id)
        self.namespace = namespace
        self.period = cdk.Duration.minutes(thresholds.period_minutes)
        self.action = cw_actions.SnsAction(topic)
        self.alarm_names: list[str] = []
        failed = self.run_metric(metrics.RUNS, {metrics.OUTCOME: RunStatus.FAILED})  # a label would make it math
        self.alarms: list[cloudwatch.Alarm] = [
            self._alarm("FailedRunsAlarm", failed, thresholds.failed_runs, "Runs ended FAILED (orch runs list)")
        ]
        errors = self._sums("errors", "e", [fn.metric_errors(period=self.period) for fn in functions])
        throttles = self._sums("throttles", "t", [fn.metric_throttles(period=self.period) for fn in functions])
        timeouts = self._sums("timed out", "o", [sm.metric_timed_out(period=self.period) for sm in state_machines])
        for name, sums, threshold, what in (
            ("FunctionErrorsAlarm", errors, thresholds.function_errors, "Invocations of the stack's functions failed"),
            ("ThrottlesAlarm", throttles, thresholds.throttles, "Invocations of the stack's functions were throttled"),
            ("TimedOutRunsAlarm", timeouts, thresholds.timed_out_runs, "Executions exceeded their workflow's timeout"),
        ):
            for n, expression in enumerate(sums, start=1):
                self.alarms.append(self._alarm(name if n == 1 else f"{name}{n}", expression, threshold, what))
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{cdk.Stack.of(self).stack_name}-orchestration"
        )
        by_workflow = [{metrics.WORKFLOW: wf} for wf in sorted(workflows)]
        self.dashboard.add_widgets(
            self._graph(
                "Runs by outcome",
                [self.run_metric(metrics.RUNS, {metrics.OUTCOME: o}, label=str(o)) for o in OUTCOMES],
                stacked=True,
            ),
            self._graph(
                "Run duration by workflow (ms, average)",
                [self.run_metric(metrics.RUN_DURATION, d, "Average", label=d[metrics.WORKFLOW]) for d in by_workflow],
            ),
        )
        self.dashboard.add_widgets(
            self._graph(
                "Task failures per workflow",
                [self.run_metric(metrics.TASK_FAILED, d, label=d[metrics.WORKFLOW]) for d in by_workflow],
            ),
            self._graph("Task retries per workflow", [self.run_metric(metrics.TASK_RETRIED, d) for d in by_workflow]),
        )
        self.dashboard.add_widgets(
            self._graph("Lambda errors and throttles", [*errors, *throttles]),
            self._graph("State machine timeouts", timeouts),
        )
        waiting = [
            self._graph(
                "Queued runs per workflow (maximum)",
                [self.run_metric(metrics.QUEUE_DEPTH, {metrics.WORKFLOW: wf}, "Maximum", label=wf) for wf in queued],
            ),
            self._graph(
                "Pool slots in use (maximum)",
                [self.run_metric(metrics.POOL_USAGE, {metrics.POOL: p}, "Maximum", label=p) for p in pools],
            ),
        ]
        self.dashboard.add_widgets(*[w for w, shown in zip(waiting, (queued, pools), strict=True) if shown])
        depth = dead_letters.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM, label="messages"
        )
        # Alarms by ARNs made from their names, not by reference: an offline deploy into moto's
        # CloudFormation (which does not create alarms) must not resolve one. (The DLQ's alarm has
        # no name to build its ARN from: the DLQ depth graph shows what it watches.)
        stack = cdk.Stack.of(self)
        arns = [
            stack.format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name=name,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in self.alarm_names
        ]
        self.dashboard.add_widgets(
            self._graph("Delivery dead-letter queue depth", [depth]),
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[cloudwatch.Alarm.from_alarm_arn(self, f"Shown{n}", arn) for n, arn in enumerate(arns)],
                width=WIDGET_WIDTH,
                height=6,
            ),
        )

    def run_metric(
        self, name: str, dimensions: dict[str, str], statistic: str = "Sum", *, label: str | None = None
    ) -> cloudwatch.Metric:
        """A metric the functions emit, under one of its dimension sets (plus the service dimension)."""
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map={metrics.SERVICE_DIMENSION: SERVICE, **{k: str(v) for k, v in dimensions.items()}},
            statistic=statistic,
            period=self.period,
            label=label,
        )

    def _sums(self, label: str, key: str, series: Sequence[cloudwatch.IMetric]) -> list[cloudwatch.MathExpression]:
        """`series` summed in groups of at most ALARM_MATH_METRICS (a missing point counts as 0); the
        metric ids (`<key><index>`) stay unique within a dashboard widget showing several groups."""
        starts = range(0, len(series), ALARM_MATH_METRICS)
        groups = [(start, series[start : start + ALARM_MATH_METRICS]) for start in starts]
        out = []
        for n, (start, group) in enumerate(groups, start=1):
            ids = [f"{key}{start + i}" for i in range(len(group))]
            out.append(
                cloudwatch.MathExpression(
                    expression=f"SUM([{', '.join(f'FILL({i}, 0)' for i in ids)}])",
                    using_metrics=dict(zip(ids, group, strict=True)),
                    label=label if len(groups) == 1 else f"{label} ({n}/{len(groups)})",
                    period=self.period,
                )
            )
        return out

    def _alarm(self, id: str, metric: cloudwatch.IMetric, threshold: int, what: str) -> cloudwatch.Alarm:
        name = f"{cdk.Stack.of(self).stack_name}-{id}"
        self.alarm_names.append(name)
        alarm = cloudwatch.Alarm(
            self,
            id,
            alarm_name=name,
            metric=metric,
            alarm_description=f"{what}: more than {threshold} in {self.period.to_minutes()} minute(s)",
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self.action)
        return alarm

    def _graph(
        self, title: str, left: Sequence[cloudwatch.IMetric], *, stacked: bool = False
    ) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(title=title, left=list(left), width=WIDGET_WIDTH, height=6, stacked=stacked)
