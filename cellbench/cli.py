"""The ``cellbench`` command line: parses options, calls the library, prints results.

Each command lives in ``cellbench/commands/<name>.py`` and is registered here; logic that a
test would call lives in the library, which raises the ``CellbenchError`` family. The CLI
prints those without a traceback and exits with code 2.
"""

from __future__ import annotations

import sys

import typer

from cellbench.errors import CellbenchError

app = typer.Typer(
    no_args_is_help=True,
    help="cellbench: benchmark models of collective cell dynamics on simulated and real tracks.",
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from cellbench.commands import tracks as tracks_cmd

    app.add_typer(tracks_cmd.app, name="tracks")
    from cellbench.commands import run as run_cmd

    app.command("run")(run_cmd.run)
    from cellbench.commands import sweep as sweep_cmd

    app.command("sweep")(sweep_cmd.sweep)
    app.command("leaderboard")(sweep_cmd.leaderboard)


_register()


def main() -> None:
    try:
        app()
    except CellbenchError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
