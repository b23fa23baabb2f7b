"""The command-line reference, generated from the commands themselves at every docs build.

An mkdocs hook (``hooks:`` in ``mkdocs.yml``): when mkdocs renders ``cli.md``, the marker
``<!-- cli-reference -->`` in it is replaced by the help of every command listed in
:data:`cellbench.cli.COMMANDS`, in that order, read from the click command that
:func:`cellbench.cli.load_command` makes (usage, arguments, options with their defaults and help
texts exactly as ``--help`` prints them). Sub-apps (``cellbench tracks ...``) are walked
recursively. Nothing is written to disk, so the page cannot go stale.

A listed command whose module cannot be imported (or whose help cannot be rendered) fails the
build with a message naming the command, its ``module:attribute`` and the error.

Run ``python docs/gen_cli.py`` to print the generated Markdown.
"""

from __future__ import annotations

import re
import sys

MARKER = "<!-- cli-reference -->"
PAGE = "cli.md"


# characters that Markdown, the tables, arithmatex or autorefs would read as syntax
_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\\*_[]$|"})


class CliReferenceError(Exception):
    """A command listed in ``cellbench.cli.COMMANDS`` could not be rendered."""


def _text(s: str) -> str:
    """Plain help text as Markdown-safe inline text; `code spans` are kept as code."""
    out = []
    for k, part in enumerate(re.split(r"(`[^`]*`)", s)):
        if k % 2:
            out.append(part)
            continue
        out.append(part.translate(_ESCAPES))
    return "".join(out)


def _paragraphs(help_text: str | None) -> list[str]:
    """A command's help: paragraphs separated by blank lines, lines within a paragraph joined."""
    if not help_text:
        return []
    paras = [" ".join(line.strip() for line in p.splitlines()) for p in re.split(r"\n\s*\n", help_text.strip())]
    out: list[str] = []
    for p in paras:
        out += [_text(p), ""]
    return out


def _param(param, ctx) -> str | None:
    """One list item for an option or argument, from the help record ``--help`` prints."""
    if getattr(param, "hidden", False):
        return None
    record = param.get_help_record(ctx)
    if record is None:
        return None
    names, help_text = record
    extras = ""
    match = re.search(r"\s*\[([^\[\]]*)\]\s*$", help_text or "")
    if match and re.match(r"(default|required|env var|x|\d)", match.group(1)):
        extras, help_text = match.group(1), help_text[: match.start()]
    item = f"- `{names}`"
    if extras:
        item += f" ({_text(extras)})"
    if help_text and help_text.strip():
        item += f": {_text(' '.join(help_text.split()))}"
    return item


def _command(cmd, path: str, level: int, parent_ctx) -> list[str]:
    """Markdown of one command (or a sub-app and, recursively, its commands)."""
    ctx = type(parent_ctx)(cmd, info_name=path.split()[-1], parent=parent_ctx)
    lines = [f"{'#' * level} {path}", ""]
    lines += _paragraphs(cmd.help)
    subcommands = cmd.list_commands(ctx) if hasattr(cmd, "list_commands") else []
    if subcommands:
        lines += [f"Commands: {', '.join(f'`{path} {name}`' for name in subcommands)}.", ""]
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    lines += ["```text", f"{path} {pieces}".rstrip(), "```", ""]
    arguments = [p for p in cmd.params if getattr(p, "param_type_name", "") == "argument"]
    options = [p for p in cmd.params if getattr(p, "param_type_name", "") != "argument"]
    for title, params in (("Arguments", arguments), ("Options", options)):
        items = [i for i in (_param(p, ctx) for p in params) if i]
        if items:
            lines += [f"**{title}**", "", *items, ""]
    for name in subcommands:
        lines += _command(cmd.get_command(ctx, name), f"{path} {name}", level + 1, ctx)
    return lines


def render() -> str:
    """The reference of every command in ``cellbench.cli.COMMANDS``, as Markdown."""
    from cellbench.cli import COMMANDS, app, load_command
    import typer

    root = typer.main.get_command(app)
    root_ctx = root.context_class(root, info_name="cellbench")
    failed: list[str] = []
    body: list[str] = []
    index = ["| command | what it does |", "| --- | --- |"]
    for name, spec in COMMANDS.items():
        try:
            cmd = load_command(name)
            body += _command(cmd, f"cellbench {name}", 2, root_ctx)
        except Exception as err:  # every failure is reported, then the build stops
            failed.append(f"  cellbench {name} ({spec.target}): {type(err).__name__}: {err}")
            continue
        index.append(f"| [`cellbench {name}`](#cellbench-{name}) | {_text(spec.summary)} |")
    if failed:
        raise CliReferenceError(
            "docs/gen_cli.py: these commands are listed in cellbench.cli.COMMANDS but cannot be rendered "
            "(fix the command or remove it from COMMANDS):\n" + "\n".join(failed))
    return "\n".join(index + [""] + body).rstrip() + "\n"


def on_page_markdown(markdown: str, *, page, **kwargs) -> str:
    """mkdocs hook: fill the marker of ``cli.md`` with :func:`render`."""
    if page.file.src_uri != PAGE:
        return markdown
    from mkdocs.exceptions import PluginError

    if MARKER not in markdown:
        raise PluginError(f"docs/gen_cli.py: docs/{PAGE} has lost its marker {MARKER}")
    try:
        return markdown.replace(MARKER, render())
    except CliReferenceError as err:
        raise PluginError(str(err)) from None


if __name__ == "__main__":
    try:
        sys.stdout.write(render())
    except CliReferenceError as err:
        sys.exit(str(err))
