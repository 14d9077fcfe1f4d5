"""The deployable stack: `cdk deploy` builds one CloudFormation stack for a project's workflows.

`infra/app.py` is the CDK app (cdk.json runs it); `infra/stack.py` assembles the constructs:
`platform.py` (ledger table, artifact bucket, alerts, shared code, platform functions),
`workflow.py` (per workflow: task functions, state machine, trigger function, schedules and
rules) and `nag.py` (cdk-nag AwsSolutions checks and the reasoned acknowledgments).
"""
