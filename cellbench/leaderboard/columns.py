"""The columns of the main leaderboard table: metric key, label with units, which value is best."""

from __future__ import annotations

# (metric key in metrics["test"], column label, better: "min" | "max" | "one")
COLUMNS = [
    ("rmse_dx_um", "RMSE dx (um)", "min"),
    ("rmse_dy_um", "RMSE dy (um)", "min"),
    ("rmse_abs_d_um", "RMSE abs d (um)", "min"),
    ("mae_abs_d_um", "MAE abs d (um)", "min"),
    ("r2", "R2", "max"),
    ("boot_r2_halfwidth", "R2 bootstrap ± (test frames)", "none"),
    ("boot_rmse_halfwidth_um", "RMSE bootstrap ± (um)", "none"),
    ("nll", "NLL", "min"),
    ("coverage_90", "cov. 90% ellipse", "nominal90"),
    ("skill_vs_zero", "skill vs zero", "max"),
    ("skill_vs_const_velocity", "skill vs const-vel.", "max"),
    ("oracle_ratio", "RMSE / oracle RMSE", "min"),
    ("filtered_oracle_ratio", "RMSE / filtered-oracle RMSE", "min"),
    ("r2_of_oracle", "R2 / oracle R2", "max"),
]
ATTENTION_CEILING_LINE = (
    "Attention columns: on force-bearing edges |F_ij| falls strictly with r, so ranking edges by -r_ij already "
    "gives Spearman 1 there; the -r column is a ceiling that any distance-based ranking reaches, not a bar "
    "attention can clear by learning the force law (attention sums to one per cell while forces add, and the "
    "value path can carry the force without attention ranking by it). The prior's own Spearman shows how much "
    "of an attention score is the prior. The force-law probes (interaction table) test the learned response instead.")
