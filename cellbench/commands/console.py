"""Rich tables shared by the CLI commands."""

from __future__ import annotations

import shutil

from rich.console import Console
from rich.table import Table

from cellbench.evaluation.pointwise import METRIC_LABELS

# Wide enough for a metrics table even when stdout is not a terminal (CI logs, pipes); no markup: dataset
# names may hold brackets (preset variants, default[n_frames=100]).
console = Console(width=max(shutil.get_terminal_size((160, 24)).columns, 140), markup=False)  # names hold [ ]: preset variants


def metrics_table(title: str, rows: list[tuple[str, dict]], keys: list[str] | None = None) -> Table:
    """One row per model, one column per metric (labels carry units)."""
    keys = keys or list(METRIC_LABELS)
    table = Table(title=title)
    table.add_column("model", no_wrap=True)
    for k in keys:
        table.add_column(METRIC_LABELS.get(k, k), justify="right")
    for name, m in rows:
        cells = []
        for k in keys:
            v = m.get(k)
            cells.append("-" if v is None else (f"{v:d}" if isinstance(v, int) else f"{v:.4g}"))
        table.add_row(name, *cells)
    return table


def _cell(v) -> str:
    return "-" if v is None else f"{v:.3g}"


def rollout_table(section: dict, dataset: str) -> Table:
    """Per model and horizon: RMSE(k) um (its ratio to zero / to the oracle) and the energy score ES(k) um."""
    ks = section["horizons_frames"]
    has_oracle = any(m.get("rmse_over_oracle") for m in section["models"].values())
    ratio = "/ zero, / oracle" if has_oracle else "/ zero"
    table = Table(title=f"{dataset}: rollouts from {section['n_start_frames']} test start frames. Each cell: RMSE(k) um "
                        f"({ratio}) ES(k) um, the energy score of {section['n_samples']} sampled rollouts",
                  caption=f"cells: {section['cells_rule']}", caption_justify="left")
    table.add_column("model", no_wrap=True)
    for k in ks:
        table.add_column(f"k={k} frames", justify="right", no_wrap=True)
    for name, m in section["models"].items():
        cells = []
        for i in range(len(ks)):
            text = f"{_cell(m['rmse_um'][i])} ({_ratio(m['rmse_over_zero'][i])}"
            text += f", {_ratio(m['rmse_over_oracle'][i])})" if m.get("rmse_over_oracle") else ")"
            if m.get("energy_score_um"):
                text += f" {_cell(m['energy_score_um'][i])}"
            cells.append(text)
        table.add_row(name, *cells)
    return table


def _ratio(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def distribution_table(section: dict, dataset: str) -> Table:
    """One distance per statistic and model beside the floor (two independent simulations)."""
    keys = section["statistics"]
    table = Table(title=f"{dataset}: statistics of free rollouts over the test block vs the truth "
                        "(distance, lower is better; floor = what a perfect model scores)",
                  caption=f"floor: {section['floor_source'] or 'none (not simulated)'}", caption_justify="left")
    table.add_column("model", no_wrap=True)
    for k in keys:
        table.add_column(f"{k} ({section['distance_kinds'][k]})", justify="right")
    for name, d in section["models"].items():
        table.add_row(name, *[_cell(d[k]) for k in keys])
    if section.get("floor"):
        table.add_row("floor", *[_cell(section["floor"][k]) for k in keys])
    return table


def probe_table(section: dict, dataset: str) -> Table:
    """Per model: the learned two-body response against the simulator's (relative L2, range error in um,
    sign changes) over the distances the data hold, and the additivity error in %."""
    truth = section.get("truth")
    title = (f"{dataset}: force-law probes, two-body response on {len(section['grid_r_um'])} distances in "
             f"[{section['grid_r_um'][0]:.3g}, {section['grid_r_um'][-1]:.3g}] um")
    table = Table(title=title, caption=("truth: the simulator's noise-free response, range "
                                        f"{truth['range_um']:.3g} um" if truth else "real data: no true force law")
                  + "; errors over r >= the closest distance the data hold", caption_justify="left")
    for col in ("model", "response rel. L2", "range (um)", "range error (um)", "sign changes", "additivity error (%)"):
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for name, m in section["models"].items():
        e = m.get("errors_seen") or m.get("errors") or {}
        add = (m.get("additivity") or {}).get("error_pct")
        rng = e.get("range_um")
        table.add_row(name, _cell(e.get("rel_l2")), _cell(rng), _cell(e.get("range_error_um")),
                      "-" if e.get("sign_changes") is None else str(e["sign_changes"]), _cell(add))
    return table
