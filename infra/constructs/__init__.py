"""The stack's constructs, one concept per module; each offers `grant_*` methods returning `iam.Grant`.

`ledger.py` (run ledger table), `artifacts.py` (artifact bucket), `alerts.py` (failure topic),
`functions.py` (code asset, layer, function factory, delivery DLQ; join, finalize, recorder),
`platform.py` (those four composed), `workflow.py` (task functions and state machine) and
`triggers.py` (trigger function, schedules, rules).
"""
