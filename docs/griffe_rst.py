"""A griffe extension for the API pages: cellbench's reST docstring idioms -> Markdown.

cellbench's docstrings are numpydoc with Sphinx roles (they read well in a terminal and in
``help()``). mkdocstrings renders Markdown, so on load this extension rewrites, in every
docstring:

- roles: ``:class:`~a.b.C``` -> `` `C` ``, ``:func:`a.b.f``` -> `` `a.b.f` `` (``:math:`x``` -> an
  inline formula for pymdownx.arithmatex);
- ``.. math::`` directives -> display formulas; ``.. code-block:: LANG`` and paragraphs ending
  in ``::`` followed by an indented block -> fenced code blocks;
- reST simple tables (``====  ===`` borders) -> Markdown tables;
- the compact parameter style ``name : what it is.`` (a description where numpydoc puts a
  type) -> ``name`` with that description indented under it, so the type comes from the
  signature. A short text without a full stop (``str``, ``callable or None``) stays a type.

It changes only the text mkdocstrings renders, never the source files.
"""

from __future__ import annotations

import re
import textwrap

import griffe

ROLE = re.compile(r":(?:py:)?(class|func|meth|attr|data|mod|obj|exc|const|ref|math):`([^`]+)`")
ITEM = re.compile(r"^(\*{0,2}[A-Za-z_][\w*]*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s+:\s*(.*)$")
ITEM_SECTIONS = {"Parameters", "Other Parameters", "Attributes", "Returns", "Yields", "Receives"}
SIMPLE_TABLE_BORDER = re.compile(r"^\s*=+(?:\s+=+)+\s*$")


def _role(match: re.Match) -> str:
    kind, target = match.groups()
    if kind == "math":
        return rf"\({target}\)"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def _looks_like_type(text: str) -> bool:
    text = text.strip()
    return not (text.endswith(".") or ": " in text or text.endswith(":") or len(text.split()) > 4)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block_after(lines: list[str], start: int, base: int) -> int:
    """Index after the block indented deeper than ``base`` that starts at ``start`` (blank lines inside kept)."""
    end = start
    i = start
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
        if lines[i].strip():
            end = i + 1
        i += 1
    return end


def _directives(lines: list[str]) -> list[str]:
    """``.. math::``, ``.. code-block::`` and ``::`` literal blocks -> arithmatex / fenced blocks."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        pad = " " * _indent(line)
        if stripped.startswith(".. math::"):
            first = stripped[len(".. math::"):].strip()
            end = _block_after(lines, i + 1, _indent(line))
            body = [first] if first else []
            body += [ln.strip() for ln in lines[i + 1:end] if ln.strip()]
            out += ["", f"{pad}\\[", *(pad + b for b in body), f"{pad}\\]", ""]
            i = end
            continue
        is_code = stripped.startswith(".. code-block::") or stripped.startswith(".. code::")
        is_literal = stripped.endswith("::") and not stripped.startswith("..")
        if (is_code or is_literal) and i + 1 < len(lines):
            end = _block_after(lines, i + 1, _indent(line))
            block = lines[i + 1:end]
            if any(b.strip() for b in block):
                if is_code:
                    lang = stripped.split("::", 1)[1].strip()
                else:
                    lang = "python"
                    text = line[:-2].rstrip()
                    out.append(text + ":" if not text.endswith(" ") and text.strip() else text)
                code = textwrap.dedent("\n".join(block)).strip("\n").split("\n")
                out += ["", f"{pad}```{lang}", *(pad + c if c else "" for c in code), f"{pad}```", ""]
                i = end
                continue
        out.append(line)
        i += 1
    return out


def _tables(lines: list[str]) -> list[str]:
    """reST simple tables (border, header, border, rows, border) -> Markdown tables."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if SIMPLE_TABLE_BORDER.match(lines[i]) and i + 2 < len(lines) and SIMPLE_TABLE_BORDER.match(lines[i + 2]):
            border = lines[i]
            spans = [m.span() for m in re.finditer(r"=+", border)]
            cut = [(a, spans[k + 1][0] if k + 1 < len(spans) else None) for k, (a, _) in enumerate(spans)]

            def cells(row: str) -> list[str]:
                return [row[a:b].strip().replace("|", "\\|") for a, b in cut]

            rows = [cells(lines[i + 1])]
            j = i + 3
            while j < len(lines) and not SIMPLE_TABLE_BORDER.match(lines[j]):
                if lines[j].strip():
                    rows.append(cells(lines[j]))
                j += 1
            out += ["", "| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(spans)]
            out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
            out.append("")
            i = j + 1
            continue
        out.append(lines[i])
        i += 1
    return out


def _items(lines: list[str]) -> list[str]:
    """In item sections, ``name : description.`` -> ``name`` + indented description."""
    out: list[str] = []
    section = None
    in_item = False
    for k, line in enumerate(lines):
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if line.strip() and re.fullmatch(r"-{3,}", nxt.strip()) and _indent(line) == 0:
            section = line.strip() if line.strip() in ITEM_SECTIONS else None
            in_item = False
            out.append(line)
            continue
        if section is None or not line.strip() or re.fullmatch(r"-{3,}", line.strip()) or _indent(line) > 0:
            out.append(line)
            continue
        match = ITEM.match(line)
        if match:
            names, text = match.groups()
            in_item = True
            if _looks_like_type(text):
                out.append(line)
            else:
                out += [names if section != "Returns" else f"{names} :", f"    {text}"]
        elif section == "Returns" and not in_item and not _looks_like_type(line):
            # a free description of the returned value: numpydoc's unnamed, untyped item
            out += [":", f"    {line}"]
            in_item = True
        elif in_item:
            out.append(f"    {line}")  # continuation of the item above, written unindented
        else:
            out.append(line)
            in_item = True
    return out


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with the rewrites of this module applied."""
    text = ROLE.sub(_role, text)
    lines = _items(_tables(_directives(text.split("\n"))))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


class RstToMarkdown(griffe.Extension):
    """Rewrite every loaded docstring with :func:`rst_to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:  # noqa: D102
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
