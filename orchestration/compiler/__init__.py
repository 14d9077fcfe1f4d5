"""Compile a `Workflow` into an Amazon States Language definition (JSONPath query language).

Pure: no AWS SDK, no I/O. The same definition runs on AWS (deployed by `infra/`) and locally (on
moto's interpreter); Lambda ARNs appear as `${placeholder}` substitutions, filled by
CloudFormation's DefinitionSubstitutions on AWS and by the local runtime offline.

The state document while a run executes is `protocol.StateDocument`. Every task result lives at a
JSONPath the compiler knows statically, so no state merges results at run time. See
docs/architecture.md for the state layout.

Modules: `emit` (the plan as states, and `compile_workflow`), `tasks` (one task's states),
`run_state` (a task's Lambda task or Map), `rules` (run-if rules), `layout` (what the emitters
share), `states` (one builder per ASL state), `paths` (JSONPaths), `quotas` (Step Functions
limits), `definition` (canonical JSON, hash, substitutions: one function per task configuration,
`grouping`), `split` (a parent and parts for a workflow too big for one state machine).
"""

from orchestration.compiler.definition import child_workflows, definition_hash, placeholders, render, to_json
from orchestration.compiler.quotas import MAX_DEFINITION_BYTES, inline_output_limit
from orchestration.compiler.split import (
    Machines,
    Part,
    compile_machines,
    compile_workflow,
    part_machine_name,
    part_placeholder,
)
from orchestration.compiler.states import LAMBDA_CALLBACK, LAMBDA_INVOKE, START_EXECUTION_SYNC
from orchestration.grouping import function_groups
from orchestration.protocol import (
    FINALIZE_FUNCTION,
    FOR_EACH_ITEM_INLINE,
    JOIN_FUNCTION,
    MAX_INLINE_OUTPUT,
    MIN_INLINE_OUTPUT,
    PAYLOAD_LIMIT_BYTES,
    RESULT_OVERHEAD_BYTES,
    STATE_BUDGET_BYTES,
    function_placeholder,
    workflow_placeholder,
)

__all__ = [
    "FINALIZE_FUNCTION",
    "FOR_EACH_ITEM_INLINE",
    "JOIN_FUNCTION",
    "LAMBDA_CALLBACK",
    "LAMBDA_INVOKE",
    "MAX_DEFINITION_BYTES",
    "MAX_INLINE_OUTPUT",
    "MIN_INLINE_OUTPUT",
    "PAYLOAD_LIMIT_BYTES",
    "RESULT_OVERHEAD_BYTES",
    "START_EXECUTION_SYNC",
    "STATE_BUDGET_BYTES",
    "Machines",
    "Part",
    "child_workflows",
    "compile_machines",
    "compile_workflow",
    "definition_hash",
    "function_groups",
    "function_placeholder",
    "inline_output_limit",
    "part_machine_name",
    "part_placeholder",
    "placeholders",
    "render",
    "to_json",
    "workflow_placeholder",
]
