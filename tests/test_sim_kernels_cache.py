"""Numba's on-disk cache of the kernels: an edit to a callee in another file is never served stale.

Each run is a fresh process on a temporary copy of ``cellbench/sim/kernels/`` (with empty
``cellbench`` and ``cellbench.sim`` packages above it), so the copy's cache starts empty and
the real package's files and cache are never touched.
"""

import ast
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from numba.core.registry import CPUDispatcher

from cellbench.sim import kernels as K
from cellbench.sim.kernels import _cache

KERNELS_DIR = Path(K.__file__).parent

# Two WCA disks (sigma 1 um, epsilon 1 kT) 1 um apart in an open domain: |F| = 24 epsilon/sigma.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from cellbench.sim import kernels as K
assert K.__file__.startswith(sys.argv[1]), K.__file__
prm = np.zeros(K.N_PRM)
prm[K.P_KIND] = 1.0
prm[K.P_POT] = 1.0
f = K.forces_brute(np.array([0.0, 1.0]), np.zeros(2), np.array([0.5, 0.5]), 2, prm)
st = K.forces_brute.stats
print(json.dumps({"fx": f[0, 0], "hits": sum(st.cache_hits.values()), "misses": sum(st.cache_misses.values())}))
"""


def _copy_kernels(root: Path, guarded: bool) -> Path:
    pkg = root / "cellbench" / "sim" / "kernels"
    shutil.copytree(KERNELS_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for parent in (root / "cellbench", root / "cellbench" / "sim"):
        (parent / "__init__.py").write_text("")
    if not guarded:  # numba's own cache check only: the hazard the guard removes
        _edit(pkg / "__init__.py", "_cache.install()", "pass")
    return pkg


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name}: expected one {old!r}"
    path.write_text(text.replace(old, new))


def _probe(root: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def _kernels() -> list[CPUDispatcher]:
    """Every jitted function defined in the package."""
    modules = [importlib.import_module(f"{K.__name__}.{p.stem}") for p in sorted(KERNELS_DIR.glob("*.py"))]
    return [obj for mod in modules for obj in vars(mod).values()
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == mod.__name__]


def test_editing_a_callee_in_another_file_recompiles_the_caller(tmp_path):
    # forces_brute (interactions.py) inlines pair_f_over_r (pair.py); the edit doubles the LJ/WCA force
    double = ("24.0 * p0 * (2.0 * sr6", "48.0 * p0 * (2.0 * sr6")
    guarded = _copy_kernels(tmp_path / "guarded", guarded=True)
    assert _probe(tmp_path / "guarded") == {"fx": -24.0, "hits": 0, "misses": 1}
    assert _probe(tmp_path / "guarded") == {"fx": -24.0, "hits": 1, "misses": 0}  # the cache still serves
    _edit(guarded / "pair.py", *double)
    assert _probe(tmp_path / "guarded") == {"fx": -48.0, "hits": 0, "misses": 1}  # fresh code, not the cache

    # Control: without the guard numba serves the stale caller. If this starts to fail, numba has
    # learnt to track callees in other files, and kernels/_cache.py may be retired.
    plain = _copy_kernels(tmp_path / "plain", guarded=False)
    assert _probe(tmp_path / "plain")["fx"] == -24.0
    _edit(plain / "pair.py", *double)
    assert _probe(tmp_path / "plain") == {"fx": -24.0, "hits": 1, "misses": 0}


def test_every_cached_kernel_is_stamped_with_the_package_source_hash():
    kernels = _kernels()
    assert len(kernels) >= 20
    for disp in kernels:
        locator = disp._cache._impl.locator
        assert isinstance(locator, _cache.PackageSourceLocator), disp
        assert locator.get_source_stamp() == _cache.source_hash(), disp


def test_kernels_call_no_jitted_code_outside_the_package():
    # the stamp hashes this directory only: a callee elsewhere would escape it
    allowed = {"__future__", "math", "decimal", "hashlib", "os", "numpy", "numba", "cellbench.sim.kernels"}
    for path in KERNELS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert any(name == a or name.startswith(a + ".") for a in allowed), f"{path.name} imports {name}"


def test_importing_the_simulators_compiles_no_kernel():
    code = ("import cellbench.sim, tests.test_sim_kernels_cache as t; "
            "print(sum(len(k.overloads) for k in t._kernels()), len(t._kernels()))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=KERNELS_DIR.parents[2])
    assert proc.returncode == 0, proc.stderr[-3000:]
    n_compiled, n_kernels = map(int, proc.stdout.split())
    assert n_kernels >= 20 and n_compiled == 0
