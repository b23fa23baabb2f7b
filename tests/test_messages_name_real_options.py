"""Every ``--option`` that a message of ``cellbench/data/`` recommends exists on the commands that read tracks.

Before issue 13, a one-header-row CSV was refused with advice to pass ``--position-units um``
(no command has it) and a warning named ``--frame-interval-s`` (neither). The test reads every
string literal of ``cellbench/data/**.py`` (f-strings included) with the AST, picks the
``--option-name`` tokens, and looks each up among the options that the command's ``--help``
lists (its click parameters, the source of ``--help``):

- options named by readers and the table checks must exist on every command that reads a
  tracks file: ``tracks info``, ``run``, ``prior``, ``simulate`` (``--like``);
- options named by splits and the dataset must exist on ``run``, the one command that splits.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "cellbench" / "data"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
SPLITTING = {"splits.py", "dataset.py"}
TRACK_READERS = ("tracks info", "run", "prior", "simulate")


def _strings(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
    return out


def mentioned_options() -> dict[str, set[str]]:
    """``{'readers': {...}, 'splits': {...}}``: the ``--options`` named in ``cellbench/data`` strings."""
    found: dict[str, set[str]] = {"readers": set(), "splits": set()}
    for path in DATA.rglob("*.py"):
        kind = "splits" if path.name in SPLITTING else "readers"
        for text in _strings(path):
            found[kind] |= set(OPTION.findall(text))
    return found


def command_options(name: str) -> set[str]:
    """The options of ``cellbench NAME --help`` (``NAME`` may be ``'tracks info'``)."""
    from cellbench.cli import load_command

    group, *sub = name.split()
    cmd = load_command(group)
    for part in sub:
        cmd = cmd.commands[part]
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}


def test_the_scan_finds_the_options_of_the_messages():
    found = mentioned_options()
    assert "--pixel-um" in found["readers"]
    assert {"--split", "--train-fraction", "--test-seq"} <= found["splits"]


@pytest.mark.parametrize("command", TRACK_READERS)
def test_options_named_by_readers_exist_on_every_command_that_reads_tracks(command):
    missing = mentioned_options()["readers"] - command_options(command)
    assert not missing, f"cellbench {command} has no {sorted(missing)}, which messages in cellbench/data recommend"


def test_options_named_by_splits_exist_on_run():
    missing = mentioned_options()["splits"] - command_options("run")
    assert not missing, f"cellbench run has no {sorted(missing)}, which messages in cellbench/data recommend"


def test_help_lists_those_options():
    """The click parameters read above are what ``--help`` prints (checked on the real help text once)."""
    from typer.testing import CliRunner

    from cellbench.cli import app

    res = CliRunner().invoke(app, ["tracks", "info", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert res.exit_code == 0 and "--pixel-um" in res.output, res.output
