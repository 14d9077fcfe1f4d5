"""`orch pools`: each pool of a deployed stack, its slots, who holds them and who waits for one.

The stack's pools are the ones its recorder frees (its `ORCH_POOLS` setting in the template: workflow
-> pools); their state is the ledger's pool items (`POOL#<name>`: holders and slots) and waiters
(`POOL#<name>#WAIT`). A pool no task has taken yet has no item: its slots show as unknown. Local
runs keep no pools in the local store (a pool lives in the local cloud of the command that runs
the tasks, and ends with it), so `orch pools` needs `--stack`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from orchestration.cli.common import guarded
from orchestration.cli.history import source_options
from orchestration.errors import ParameterError
from orchestration.runtime.registry import Env

if TYPE_CHECKING:
    from orchestration.operations.stack import StackRuns

HOLDER_FIELDS = ("workflow", "run_id", "task", "repair", "item")


def holder_fields(holder: str) -> dict[str, Any]:
    """`<workflow>#<run_id>#<task>#<repair>[#<item>]` (orchestration.pools.holder_id) as fields."""
    parts = holder.split("#")
    fields: dict[str, Any] = dict(zip(HOLDER_FIELDS, parts, strict=False))
    for name in ("repair", "item"):
        if str(fields.get(name, "")).isdigit():
            fields[name] = int(fields[name])
    fields.setdefault("item", None)
    return fields


def stack_pool_names(source: StackRuns) -> list[str]:
    """The pools the stack's workflows use, from its recorder's ORCH_POOLS setting."""
    with source.aws("read the template of"):
        body = source.client("cloudformation").get_template(StackName=source.stack_name)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    names: set[str] = set()
    for res in (template.get("Resources") or {}).values():
        variables = ((res.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        setting = variables.get(Env.POOLS)
        if isinstance(setting, str):
            for pools in json.loads(setting).values():
                names.update(pools)
    return sorted(names)


def pool_report(source: StackRuns) -> list[dict[str, Any]]:
    """Each pool: slots (None: never taken), the holders of its slots and its waiters, oldest first."""
    from orchestration.ledger.pools import Pools

    pools = Pools(source.table, source.ledger.client)
    report = []
    with source.aws("read the pools of"):
        for name in stack_pool_names(source):
            state = pools.state(name)
            waiters = pools.waiters(name)
            report.append(
                {
                    "pool": name,
                    "slots": state.slots if state else None,
                    "in_use": [holder_fields(h) for h in sorted(state.holders)] if state else [],
                    "waiting": [{**holder_fields(w.holder), "since": w.sk.split("#", 1)[0]} for w in waiters],
                }
            )
    return report


def _holder_text(h: dict[str, Any]) -> str:
    item = f"[{h['item']}]" if h.get("item") is not None else ""
    repair = f" (repair {h['repair']})" if h.get("repair") else ""
    return f"{h['workflow']} {h['run_id']} {h['task']}{item}{repair}"


@click.command("pools")
@click.option("--json", "as_json", is_flag=True, help="One JSON array: each pool with its holders and waiters.")
@source_options
@guarded
def pools(as_json: bool, stack: str | None, region: str | None, profile: str | None) -> None:
    """List each pool of a deployed stack: slots, in use (by which run and task), waiting tasks."""
    if stack is None:
        raise ParameterError(
            "orch pools needs --stack NAME: local runs keep no pools in the local store (a pool lives only "
            "while the command running the tasks runs)"
        )
    from orchestration.operations.stack import StackRuns

    source = StackRuns(stack, region=region, profile=profile)
    report = pool_report(source)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = Console()
    if not report:
        console.print(f"{source.where} has no pools (no task declares pool=...)", highlight=False)
        return
    table = Table("pool", "slots", "in use", "held by", "waiting")
    for pool in report:
        slots = "?" if pool["slots"] is None else str(pool["slots"])
        table.add_row(
            pool["pool"],
            slots,
            str(len(pool["in_use"])),
            "\n".join(_holder_text(h) for h in pool["in_use"]) or "-",
            "\n".join(f"{_holder_text(w)} since {w['since']}" for w in pool["waiting"]) or "-",
        )
    console.print(table)
