"""The ``cellbench`` command line: parses options, calls the library, prints results.

Each command lives in ``cellbench/commands/<name>.py`` and is registered here; logic that a
test would call lives in the library, which raises the ``CellbenchError`` family. The CLI
prints those without a traceback and exits with code 2.
"""

from __future__ import annotations

import typer

from cellbench.errors import CellbenchError

class _ReportingGroup(typer.core.TyperGroup):
    """Turns a ``CellbenchError`` from any command into ``error: ...`` on stderr and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CellbenchError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=2) from None


app = typer.Typer(
    cls=_ReportingGroup,
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
    from cellbench.commands import prior as prior_cmd; app.command("prior")(prior_cmd.prior)  # noqa: E702
    from cellbench.commands import simulate as simulate_cmd; app.command("simulate")(simulate_cmd.simulate)  # noqa: E702


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
