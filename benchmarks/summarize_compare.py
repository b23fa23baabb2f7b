"""Mean +- std over seeds of the JSON lines written by compare_models.py, as a markdown table.

    python benchmarks/summarize_compare.py compare.jsonl
"""

from __future__ import annotations

import json
import sys

import numpy as np

KEYS = ["r2", "rmse_um", "oracle_ratio", "r2_of_oracle", "skill_vs_const_velocity", "nll", "coverage_90"]


def main(path: str) -> None:
    rows = [json.loads(l) for l in open(path)]
    by: dict[str, list[dict]] = {}
    kr: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["model"], []).append(r["test"])
        for name, m in r["references"].items():
            if name not in ("ar",):
                by.setdefault(name, []).append(m)
        if r.get("kernel_recovery"):
            kr.setdefault(r["model"], []).append(r["kernel_recovery"])
    keys = [k for k in KEYS if any(k in m for ms in by.values() for m in ms)]
    print(f"{path}: seeds {sorted({r['seed'] for r in rows})}, train_fraction {rows[0]['train_fraction']}")
    print("| model | n | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 2) + "|")
    for name, ms in by.items():
        cells = []
        for k in keys:
            v = np.array([m[k] for m in ms if k in m], dtype=float)
            cells.append(f"{v.mean():.4f} +- {v.std():.4f}" if len(v) else "-")
        print(f"| {name} | {len(ms)} | " + " | ".join(cells) + " |")
    for name, ks in kr.items():
        out = {k: np.mean([x[k] for x in ks if k in x]) for k in ks[0] if isinstance(ks[0][k], (int, float))}
        print(name, "kernel recovery:", {k: round(float(v), 3) for k, v in out.items()})


if __name__ == "__main__":
    main(sys.argv[1])
