"""Measure every simulation preset: one-step R^2, cells per frame, CPU time (a maintenance script).

``python -m cellbench.runs.measure_presets [PRESET ...]`` prints the lines of
:data:`cellbench.sim.presets.MEASURED` and the table of the :mod:`cellbench.sim.presets`
docstring (seed 0, 1 numba thread; times exclude compilation and writing files). The R^2 figures
come from :func:`cellbench.evaluation.sim_truth.oracle_r2`.
"""

from __future__ import annotations


def main(names: list[str] | None = None) -> None:  # pragma: no cover - a maintenance script
    import sys
    import time

    import numba

    from cellbench.evaluation.sim_truth import oracle_r2
    from cellbench.sim.engine import simulate
    from cellbench.sim.presets import PRESETS

    numba.set_num_threads(1)
    names = names or sys.argv[1:] or list(PRESETS)
    rows = []
    for name in names:
        simulate(name, 0, {"n_frames": 2, "n_equil_steps": 0})  # compile / load the numba cache
        t0, c0 = time.perf_counter(), time.process_time()
        res = simulate(name, 0)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        r = oracle_r2(res.truth, res.meta["frame_interval_s"])
        cpf = res.tracks.cells_per_frame()
        print(f'    "{name}": {{"r2_oracle": {r["r2_oracle"]:.3f}, "r2_int": {r["r2_interactions"]:.3f}, '
              f'"disp_std_um": {r["disp_std_um"]:.2f}, "cells_per_frame": ({cpf.iloc[0]}, {cpf.iloc[-1]}), '
              f'"cpu_s": {cpu:.1f}, "wall_s": {secs:.1f}}},', flush=True)
        lo, hi = int(cpf.min()), int(cpf.max())
        rows.append((name, f"{r['r2_oracle']:.3f}", f"{r['r2_interactions']:.3f}", f"{r['disp_std_um']:.2f}",
                     str(lo) if lo == hi else f"{lo}-{hi}", f"{cpu:.1f}"))
    # the table of the presets module docstring
    head = ("preset", "r2_oracle", "r2_int", "disp std/axis um", "cells/frame", "cpu s")
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, head, *rows, rule]
    print("\n".join(x if isinstance(x, str) else "  ".join(c.ljust(w) for c, w in zip(x, widths)).rstrip()
                    for x in lines[:2] + [rule] + lines[2:]))


if __name__ == "__main__":  # pragma: no cover
    main()
