"""The package layout stays readable: layers import downwards only, modules stay small, names are unique.

The layers, lowest first (see the README's "How the code is organised"). A module may import
its own folder and any lower layer; never a higher one, and never a different folder of the
same rank. Imports inside functions count: a lazy import is still an arrow in the design.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "cellbench"

LAYERS: list[set[str]] = [
    {"errors", "version"},
    {"io", "space", "outdir"},
    {"data"},
    {"sim", "inputs"},
    {"prior"},
    {"models"},
    {"train"},
    {"evaluation"},
    {"simfit"},
    {"runs"},
    {"sweep"},
    {"leaderboard"},
    {"commands"},
    {"cli", "__init__"},
]
RANK = {group: rank for rank, groups in enumerate(LAYERS) for group in groups}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    """Dotted name -> path for every module of the package."""
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _group(module: str) -> str:
    """The layer group of a dotted cellbench module name ('cellbench' itself is the facade)."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _imports(path: Path, name: str, known: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, imported cellbench module) for every import in ``path``, function bodies included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "cellbench"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "cellbench":
                continue
            for alias in node.names:  # `from cellbench.x import y` may name a submodule y
                sub = f"{mod}.{alias.name}"
                out.append((node.lineno, sub if sub in known else mod))
    return out


def _edges():
    known = _modules()
    for name, path in known.items():
        for line, target in _imports(path, name, known):
            yield name, path, line, target


def test_layers_import_downwards_only():
    bad = []
    for name, path, line, target in _edges():
        src, dst = _group(name), _group(target)
        if src == dst:
            continue
        if dst not in RANK or src not in RANK:
            bad.append(f"{path.relative_to(PKG.parent)}:{line}: {src!r} or {dst!r} has no layer in LAYERS")
        elif RANK[dst] >= RANK[src]:
            bad.append(f"{path.relative_to(PKG.parent)}:{line}: {src} (layer {RANK[src]}) imports {target} "
                       f"(layer {RANK[dst]})")
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_no_cycles_between_folders():
    graph = defaultdict(set)
    for name, _, _, target in _edges():
        if _group(name) != _group(target):
            graph[_group(name)].add(_group(target))

    def reaches(a, b, seen=()):
        return any(n == b or (n not in seen and reaches(n, b, seen + (n,))) for n in graph.get(a, ()))

    cycles = sorted(g for g in list(graph) if reaches(g, g))
    assert not cycles, f"folders in an import cycle: {cycles}"


def test_every_folder_has_a_layer():
    folders = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PKG.glob("*.py")}
    missing = sorted((folders | modules) - set(RANK))
    assert not missing, f"add these to LAYERS (and to the README's layout section): {missing}"


def test_modules_stay_small():
    long = {str(p.relative_to(PKG.parent)): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by responsibility): {long}"


def test_public_class_names_are_unique():
    where = defaultdict(list)
    for path in PKG.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where[node.name].append(str(path.relative_to(PKG.parent)))
    dup = {k: v for k, v in where.items() if len(v) > 1}
    assert not dup, f"public classes defined twice: {dup}"


def test_module_file_names_are_unique_where_it_confuses():
    """No two modules named pipeline.py, errors.py, report.py, potentials.py or config.py."""
    names = defaultdict(list)
    for path in PKG.rglob("*.py"):
        if path.name != "__init__.py":
            names[path.name].append(str(path.relative_to(PKG.parent)))
    dup = {k: v for k, v in names.items() if len(v) > 1 and k in
           {"pipeline.py", "errors.py", "report.py", "potentials.py", "config.py", "summary.py"}}
    assert not dup, f"module names that mean two things: {dup}"


@pytest.mark.parametrize("src,dst,ok", [("sim", "data", True), ("data", "sim", False), ("sim", "inputs", False),
                                         ("leaderboard", "runs", True), ("models", "train", False),
                                         ("outdir", "errors", True), ("errors", "io", False)])
def test_the_rule_itself(src, dst, ok):
    """The check would catch an upward arrow (guards against a rank table that allows everything)."""
    assert (RANK[dst] < RANK[src]) is ok
