#!/usr/bin/env bash
# Regenerates every committed leaderboard table from scratch (or resumes: finished runs are skipped).
# Usage, from the repository root:  bash leaderboards/regenerate.sh [RESULTS_DIR]
set -euo pipefail
# data:NAME datasets in the configs are looked up in $CELLBENCH_DATA (a relative path is taken from the folder
# this script is started in); by default the shared data folder beside the repository, ../shared/data
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="${CELLBENCH_DATA:-$repo/../shared/data}"
case "$data" in /*) ;; *) data="$PWD/$data" ;; esac
export CELLBENCH_DATA="$data"
cd "$repo"
results=${1:-results/leaderboards}
start=$SECONDS
for cfg in synthetic synthetic-gnn synthetic-floor sample-efficiency ablation ablation-bias ablation-gamma ablation-prior \
           ablation-paper interactions hsc hsc-transfer hsc-sim2real; do
  t0=$SECONDS
  cellbench sweep "leaderboards/configs/$cfg.toml" --results "$results" || echo "sweep $cfg: some runs failed (recorded in $results)"
  echo "timing: sweep $cfg $((SECONDS - t0)) s"
done
cellbench leaderboard "$results" --out leaderboards --readme README.md \
  --audit "$CELLBENCH_DATA/bf-c2dl-hsc/BF-C2DL-HSC_01_spots.csv" \
  --audit "$CELLBENCH_DATA/bf-c2dl-hsc/BF-C2DL-HSC_02_spots.csv"
echo "timing: whole regeneration $((SECONDS - start)) s"
