"""`orch ui`: a web UI of the runs (the local store, or a deployed stack with --stack), served on
127.0.0.1 unless --host says otherwise."""

from __future__ import annotations

import click

from orchestration.cli.common import caller, err_console, guarded, set_local_log_levels
from orchestration.cli.history import open_source, source_options


@click.command("ui")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen here; beyond loopback only on purpose.")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Workflow file for repairs with --stack (repeatable; locally the store knows each run's file).",
)
@source_options
@guarded
def ui(
    port: int, host: str, files: tuple[str, ...], stack: str | None, region: str | None, profile: str | None
) -> None:
    """Browse runs in a web browser: the runs list, each run's graph, timeline, logs and outputs;
    repair and cancel runs. Ctrl-C stops it."""
    from orchestration.ui import UIState, bind, create_app, is_loopback, serve, url_of

    source = open_source(stack, region, profile)
    sock = bind(host, port)
    if not is_loopback(host):
        err_console.print(
            f"[bold yellow]warning:[/] serving on {host}: anyone who can reach this machine there can read "
            "the runs and repair or cancel them (the UI has no login). Use the default 127.0.0.1 unless you mean it.",
            highlight=False,
        )
    app = create_app(UIState(source, files=files, caller=caller(), ready=set_local_log_levels), host=host)
    click.echo(f"orch ui: {source.where} at {url_of(sock)}  (Ctrl-C stops it)")
    serve(app, sock)
