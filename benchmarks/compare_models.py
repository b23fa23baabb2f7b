"""First comparison table: every model on a dataset, several seeds, one JSON line per run.

    python benchmarks/compare_models.py --data default --seeds 0 1 2 --out compare.jsonl

Each learned model trains through ``cellbench.runs.pipeline.run`` exactly as ``cellbench run`` does.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cellbench.models.registry import MODELS
from cellbench.runs.pipeline import RunConfig, run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--models", nargs="+", default=[*reversed([n for n, e in MODELS.items() if e.kind == "learned"]), "ar"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--train-fraction", type=float, default=1.0)
    ap.add_argument("--prior-transform", default=None, choices=["signed", "abs"])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--runs", type=Path, default=Path("/tmp/cellbench-compare"))
    args = ap.parse_args()
    for seed in args.seeds:
        for model in args.models:
            opts = {}
            if MODELS[model].kind == "learned":
                train = {}
                if args.epochs:
                    train["epochs"] = args.epochs
                opts = {"train": train}
                if args.prior_transform and "prior_transform" in MODELS[model].defaults:
                    opts["prior_transform"] = args.prior_transform
            cfg = RunConfig(model=model, data=(args.data,), seed=seed, model_options=opts, train_fraction=args.train_fraction)
            t0 = time.perf_counter()
            res = run(cfg, args.runs / f"{model}-{Path(args.data).stem}-tf{args.train_fraction}-{args.prior_transform or 'signed'}-seed{seed}")
            row = {"model": model, "data": args.data, "seed": seed, "train_fraction": args.train_fraction,
                   "prior_transform": args.prior_transform,
                   "seconds": time.perf_counter() - t0, "test": res.metrics["test"],
                   "references": res.metrics["references"], "kernel_recovery": res.metrics.get("kernel_recovery"),
                   "training": res.metrics.get("training")}
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(model, seed, f"R2 {row['test']['r2']:.4f}", f"{row['seconds']:.0f}s", flush=True)


if __name__ == "__main__":
    main()
