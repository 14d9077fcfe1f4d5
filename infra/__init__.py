"""The deployable stack: `cdk deploy` builds one CloudFormation stack for a project's workflows.

`app.py` is the CDK app (cdk.json runs it); `settings.py` reads its context; `discovery.py` loads and
checks the workflows; `asset.py` stages the code asset; `stack.py` composes the constructs of
`constructs/` (ledger, artifacts, alerts, platform functions, one `WorkflowDeployment` with its
triggers per workflow) and wires their grants; `nag.py` holds the cdk-nag acknowledgments.
"""
