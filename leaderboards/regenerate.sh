#!/usr/bin/env bash
# Regenerates every committed leaderboard table from scratch (or resumes: finished runs are skipped).
# Usage, from the repository root:  bash leaderboards/regenerate.sh [RESULTS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:-results/leaderboards}
for cfg in synthetic sample-efficiency ablation ablation-bias ablation-gamma ablation-prior ablation-paper interactions hsc hsc-transfer hsc-sim2real; do
  cellbench sweep "leaderboards/configs/$cfg.toml" --results "$results" || echo "sweep $cfg: some runs failed (recorded in $results)"
done
cellbench leaderboard "$results" --out leaderboards \
  --audit ../shared/data/bf-c2dl-hsc/BF-C2DL-HSC_01_spots.csv \
  --audit ../shared/data/bf-c2dl-hsc/BF-C2DL-HSC_02_spots.csv
