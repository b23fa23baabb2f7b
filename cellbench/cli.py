"""The ``cellbench`` command line: parses options, calls the library, prints results.

Each command lives in ``cellbench/commands/<name>.py`` and is listed in :data:`COMMANDS`; logic
that a test would call lives in the library, which raises the ``CellbenchError`` family. The CLI
prints those without a traceback and exits with code 2.

A command's module is imported only when that command runs or shows its own help: ``cellbench
--help`` reads the one-line summaries below and imports none of them (no torch, scipy or Dask),
and ``cellbench tracks info --help`` imports only the tracks command.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from cellbench.errors import CellbenchError


class Command(NamedTuple):
    """target : ``'module:attribute'``, a command function or a ``typer.Typer`` sub-app. summary : its line in ``--help``."""

    target: str
    summary: str


COMMANDS: dict[str, Command] = {
    "run": Command("cellbench.commands.run:run",
                   "Fit a model on the training split of tracks or a simulation, score it on the test split "
                   "beside the references, write the run folder."),
    "sweep": Command("cellbench.commands.sweep:sweep",
                     "Run a grid of models x datasets x seeds x options on Dask; finished runs are skipped."),
    "leaderboard": Command("cellbench.commands.sweep:leaderboard",
                           "Write the leaderboard tables and pages from a sweep's results folder."),
    "tune": Command("cellbench.commands.tune:tune",
                    "Tune a learned model with the same random-search budget as every other, on the validation block."),
    "prior": Command("cellbench.commands.prior:prior",
                     "Estimate S(k), C(k) and c(r) of a tracks file or a simulator preset."),
    "simulate": Command("cellbench.commands.simulate:simulate",
                        "Simulate a preset (or a preset fitted to a tracks file) and write tracks, truth and plots."),
    "compare": Command("cellbench.commands.compare:compare",
                       "Compare models on your tracks over several seeds: one table beside the references, paired "
                       "differences, and whether the physics prior helps."),
    "tracks": Command("cellbench.commands.tracks:app", "Inspect tracks files."),
    "export": Command("cellbench.commands.export:app", "Export tracks and a run's predictions for a viewer (napari)."),
    "data": Command("cellbench.commands.data:app", "List and fetch public tracking datasets (Cell Tracking Challenge)."),
}
"""Every command, in the order ``--help`` lists them."""


def load_command(name: str) -> typer.core.click.Command:
    """Import the module of command ``name`` and make its click command."""
    module, _, attr = COMMANDS[name].target.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    if isinstance(obj, typer.Typer):
        return typer.main.get_group(obj)
    single = typer.Typer(add_completion=False, rich_markup_mode=None)  # help texts show [sweep] literally
    single.command(name)(obj)
    return typer.main.get_command(single)


class _LazyGroup(TyperGroup):
    """Loads a command on first use and turns a ``CellbenchError`` into ``error: ...`` on stderr, exit code 2."""

    _listing = False

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # the listing of `cellbench --help` needs only the summary
            return TyperCommand(cmd_name, short_help=COMMANDS[cmd_name].summary)
        if cmd_name not in self.commands:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CellbenchError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=2) from None


app = typer.Typer(
    cls=_LazyGroup,
    no_args_is_help=True,
    help="cellbench: benchmark models of collective cell dynamics on simulated and real tracks.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """The commands are in :data:`COMMANDS` (a callback makes typer build a group for them)."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
