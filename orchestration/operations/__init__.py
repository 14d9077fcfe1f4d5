"""Operating runs after they started: history, logs, cancel (and, built on them, repair and backfill).

Two places hold runs, behind one protocol (`source.RunSource`):

- `local_store.LocalStore`: the runs `orch run` and the other local commands kept in `.orch/`
  (`ORCH_HOME` overrides), readable without any server;
- `stack.StackRuns`: a deployed stack's ledger, state machines and logs, through boto3 (`--stack NAME`).
"""
