"""Start-up time of the command line: ``cellbench --help`` and ``cellbench tracks info --help``.

    pytest benchmarks/bench_startup.py --benchmark-only -s

Each round runs the command in a fresh interpreter (a new process, as a user types it), beside
``python -c pass`` timed in the same run, so ``extra_info`` carries the absolute seconds and the
ratio to a bare interpreter. The budget is :data:`BUDGET_S` on the shared 2-core machine: help
must not import torch or PyG (measured before the lazy registry: 7-11 s; the check that neither
is imported is the unit test ``tests/test_registry.py::test_cli_help_imports_no_torch``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

BUDGET_S = 2.0
"""Wall-time budget of one help command, seconds (2 cores shared with other work)."""
ROUNDS = 5


def _cellbench() -> list[str]:
    """The installed ``cellbench`` script next to this interpreter, else the same entry point via ``-c``."""
    script = Path(sys.executable).with_name("cellbench")
    if script.is_file():
        return [str(script)]
    found = shutil.which("cellbench")
    return [found] if found else [sys.executable, "-c", "from cellbench.cli import main; main()"]


def _run(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}, check=True)
    return out.stdout


def _median_seconds(cmd: list[str], rounds: int = ROUNDS) -> float:
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        _run(cmd)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


@pytest.mark.parametrize("args", [["--help"], ["tracks", "info", "--help"]], ids=" ".join)
def test_help_start_up_vs_bare_python(benchmark, args):
    t_python = _median_seconds([sys.executable, "-c", "pass"])
    cmd = _cellbench() + args
    out = benchmark.pedantic(_run, args=(cmd,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert "Usage" in out
    t_help = benchmark.stats.stats.median
    benchmark.extra_info.update({
        "command": "cellbench " + " ".join(args), "seconds": t_help, "python_pass_seconds": t_python,
        "ratio_vs_python_pass": t_help / t_python, "budget_seconds": BUDGET_S, "within_budget": t_help < BUDGET_S,
    })
    print(f"\ncellbench {' '.join(args)}: {t_help:.2f} s (python -c pass {t_python:.3f} s, "
          f"ratio {t_help / t_python:.1f}; budget {BUDGET_S:g} s)")
