"""Every PNG cellbench writes can be read: after drawing, no text leaves the figure, no legend
covers data or another text, no panel is empty; and the leaderboard chart shows skill vs zero
with the tables' intervals and the oracle as a line."""

from __future__ import annotations

from types import SimpleNamespace as NS

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402

from cellbench.evaluation.distribution_plot import statistic_figure  # noqa: E402
from cellbench.evaluation.figures import wrap_text  # noqa: E402
from cellbench.evaluation.probe_plot import probe_figure  # noqa: E402
from cellbench.evaluation.rollout_plot import rollout_figure  # noqa: E402
from cellbench.evaluation.run_outputs import NO_TRUTH_NOTE, attention_figure, loss_figure  # noqa: E402
from cellbench.leaderboard.chart import CLIP_SKILL, skill_figure  # noqa: E402
from cellbench.leaderboard.tables import NOISE_FLOOR_LABEL, collect, summarize  # noqa: E402
from cellbench.prior.plot import prior_figure  # noqa: E402
from cellbench.prior.result import Prior  # noqa: E402
from cellbench.simfit.report import fit_figure  # noqa: E402

LONG = "BF-C2DL-HSC_02_BF-C2DL-HSC_01_train_on_the_others_test_on_BF-C2DL-HSC_01_and_some_more_sequences"


# -- what "readable" means, checked on the drawn figure ---------------------------------------------

def _figures(fig):
    yield fig
    for sub in fig.subfigs:
        yield from _figures(sub)


def _legends(fig):
    return [leg for f in _figures(fig) for leg in f.legends] + [
        ax.get_legend() for ax in fig.get_axes() if ax.get_legend() is not None]


def _tick_labels(ax):
    out = []
    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        lo, hi = sorted(lim)
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            if lo - 1e-9 * (hi - lo) <= tick.get_loc() <= hi + 1e-9 * (hi - lo):  # drawn ticks only
                out += [tick.label1, tick.label2]
    return out


def _texts(fig):
    """Every drawn, non-empty text of the figure except the legends' own."""
    out = []
    for f in _figures(fig):
        out += list(f.texts) + [getattr(f, a, None) for a in ("_suptitle", "_supxlabel", "_supylabel")]
    for ax in fig.get_axes():
        if ax.get_visible():
            out += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                    *_tick_labels(ax)]
    return [t for t in out if t is not None and t.get_visible() and t.get_text().strip()]


def _data_points(ax, renderer) -> np.ndarray:
    """Display coordinates of the drawn data of one axes (lines densified, scatter points, band and
    bar outlines), only where they fall inside the axes (what is clipped is not seen)."""
    pts = []
    for line in ax.get_lines():
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) > 1:
            t = np.linspace(0, 1, 25)[:, None]
            xy = np.concatenate([a + t * (b - a) for a, b in zip(xy[:-1], xy[1:])])
        pts.append(xy)
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            pts.append(coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), dtype=float)))
        elif isinstance(coll, PolyCollection):
            pts += [coll.get_transform().transform(p.vertices) for p in coll.get_paths()]
    for patch in ax.patches:
        bb = patch.get_window_extent(renderer)
        g = np.linspace(0, 1, 6)
        pts.append(np.array([(bb.x0 + a * bb.width, bb.y0 + b * bb.height) for a in g for b in g]))
    if not pts:
        return np.empty((0, 2))
    xy = np.concatenate(pts)
    box = ax.get_window_extent(renderer)
    inside = (xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)
    return xy[inside & np.isfinite(xy).all(axis=1)]


def assert_readable(fig) -> None:
    """After drawing: every text inside the figure; legends over no data and no other text; no empty panel."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    texts = _texts(fig)
    for t in texts:
        bb = t.get_window_extent(renderer)
        assert bb.x0 >= page.x0 - 1 and bb.x1 <= page.x1 + 1 and bb.y0 >= page.y0 - 1 and bb.y1 <= page.y1 + 1, (
            f"text {t.get_text()[:60]!r} leaves the figure: {bb} outside {page}")
    for leg in _legends(fig):
        lb = leg.get_window_extent(renderer)
        for ax in fig.get_axes():
            xy = _data_points(ax, renderer)
            inside = (xy[:, 0] > lb.x0) & (xy[:, 0] < lb.x1) & (xy[:, 1] > lb.y0) & (xy[:, 1] < lb.y1)
            assert not inside.any(), f"the legend {[x.get_text() for x in leg.get_texts()]} covers data"
        for t in texts:
            assert not lb.overlaps(t.get_window_extent(renderer)), f"the legend covers the text {t.get_text()[:60]!r}"
    for ax in fig.get_axes():
        if ax.get_visible():
            assert ax.has_data(), f"the panel {ax.get_title()!r} is empty"
    plt.close(fig)


def test_the_check_itself_catches_a_legend_on_data_text_off_the_page_and_an_empty_panel():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50), label="a line under its legend")
    ax.legend(loc="upper right")
    with pytest.raises(AssertionError, match="covers data"):
        assert_readable(fig)
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_title(LONG)
    with pytest.raises(AssertionError, match="leaves the figure"):
        assert_readable(fig)
    fig, axes = plt.subplots(1, 2)
    axes[0].plot([0, 1], [0, 1])
    with pytest.raises(AssertionError, match="empty"):
        assert_readable(fig)


def test_wrap_text_breaks_long_names_after_underscores_and_keeps_every_character():
    text = f"{LONG}: test skill vs zero"
    wrapped = wrap_text(text, 30)
    assert max(len(line) for line in wrapped.split("\n")) <= 30
    assert wrapped.replace("\n", "").replace(" ", "") == text.replace(" ", "")


# -- the leaderboard chart ----------------------------------------------------------------------------

def _record(model, dataset, seed, skill, r2, boot=None):
    test = {"rmse_dx_um": 1.0 - skill / 2, "rmse_dy_um": 1.0 - skill / 2, "rmse_abs_d_um": 1.0, "r2": r2,
            "skill_vs_zero": skill, "n_targets": 100}
    metrics = {"dataset": dataset, "split": "time", "test": test, "references": {},
               "noise_floor": {"rmse_dx_um": 0.5, "thermal_um2": 0.25, "localization_um2": 0.0}}
    if boot is not None:
        metrics["intervals"] = {"block_len_frames": 5, "models": {model: {"r2": [r2 - boot, r2 + boot]}}}
    return {"key": f"{model}-{seed}", "status": "done", "label": model, "data_sha256": "ab" * 32, "code_version": "t",
            "spec": {"model": model, "dataset": [dataset], "seed": seed, "train_fraction": 1.0, "split": "time",
                     "model_options": {}},
            "metrics": metrics, "finished_at": "2026-01-01T00:00:00"}


@pytest.fixture
def board():
    """Skill of a long-named dataset: zero (0), const-velocity far below zero, two learned models
    with long labels over three seeds (one with a bootstrap), the oracle."""
    recs = []
    for seed, jitter in enumerate((-0.01, 0.0, 0.01)):
        recs += [_record("zero", LONG, seed, 0.0, -0.002), _record("const-velocity", LONG, seed, -0.97, -0.98),
                 _record("oracle", LONG, seed, 0.65, 0.64),
                 _record("physattn[prior_transform=signed,train.eta_max=0]", LONG, seed, 0.40 + jitter, 0.39 + jitter,
                         boot=0.05),
                 _record("transformer", LONG, seed, 0.30 + 2 * jitter, 0.29 + 2 * jitter)]
    return summarize(collect(recs))


def test_the_board_chart_shows_skill_with_the_tables_intervals_and_the_oracle_as_a_line(board):
    fig = skill_figure(board, LONG)
    ax = fig.axes[0]
    bars = {t.get_text().split(" (")[0]: p for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert set(bars) == {"zero", "const-velocity", "physattn[prior_transform=signed,train.eta_max=0]", "transformer"}
    s = board[board.metric == "skill_vs_zero"].set_index("label")
    assert bars["transformer"].get_width() == pytest.approx(s.loc["transformer", "mean"])
    assert "skill vs zero" in ax.get_xlabel() and "skill vs zero" in fig.get_suptitle()
    assert "\n" in fig.get_suptitle()  # the long dataset name is wrapped, not clipped
    # const-velocity (-0.97 < CLIP_SKILL) is cut: the axis starts just below 0, the lowest other bar's interval
    lo, hi = ax.get_xlim()
    assert CLIP_SKILL / 2 < lo < 0
    assert any("continues" in t.get_text() for t in ax.texts)
    vertical = {round(line.get_xdata()[0], 6) for line in ax.get_lines() if line.get_xdata()[0] == line.get_xdata()[1]}
    assert 0.0 in vertical and round(s.loc["oracle", "mean"], 6) in vertical
    floor = 1 - 0.5**2 / np.mean([1.0, 1.0])  # 1 - floor^2 / MSE_zero, zero's RMSE dx = dy = 1
    assert round(floor, 6) in vertical and (board.label == NOISE_FLOOR_LABEL).any()
    # error bars: the training-seed interval of the tables, and the bootstrap half-width rescaled to skill
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "95 % interval over training seeds" in legend and "95 % bootstrap over test frames" in legend
    seg = {label: [] for label in legend}
    for coll, label in zip([c for c in ax.collections], ["95 % bootstrap over test frames", "95 % interval over training seeds"]):
        seg[label] = [np.ptp(np.asarray(p)[:, 0]) / 2 for p in coll.get_segments()]
    order = [t.get_text().split(" (")[0] for t in ax.get_yticklabels()]
    i = order.index("transformer")
    assert seg["95 % interval over training seeds"][i] == pytest.approx(s.loc["transformer", "ci95"])
    j = order.index("physattn[prior_transform=signed,train.eta_max=0]")
    assert seg["95 % bootstrap over test frames"][j] == pytest.approx(0.05 / (1 - (-0.002)))
    assert_readable(fig)


def test_the_board_png_is_written_by_the_leaderboard(board, tmp_path):
    from cellbench.leaderboard.chart import skill_chart

    assert skill_chart(board, LONG, tmp_path / "b.png") and (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    assert not skill_chart(board, "no such dataset", tmp_path / "c.png") and not (tmp_path / "c.png").exists()


# -- run folders -----------------------------------------------------------------------------------

def _history(kl: bool):
    return [{"epoch": e, "train_nll": 1.0 - 0.1 * e, "val_nll": 0.9 - 0.05 * e,
             **({"train_kl": 0.01 * e, "eta_kl": 0.1} if kl else {})} for e in range(4)]


@pytest.mark.parametrize("kl", [False, True])
def test_loss_png_keeps_its_legend_off_the_curves_and_counts_whole_epochs(kl):
    fig = loss_figure(_history(kl), f"physattn on {LONG}")
    ticks = fig.axes[0].get_xticks()
    assert np.allclose(ticks, np.round(ticks))
    assert_readable(fig)


def _attention(rng, n_frames=6, n_cells=12):
    rows = []
    for f in range(n_frames):
        for i in range(n_cells):
            for j in rng.choice([c for c in range(n_cells) if c != i], 4, replace=False):
                rows.append((0, f, int(j), i, rng.uniform(1, 20), rng.uniform(0, 1), rng.uniform(0, 1)))
    return pd.DataFrame(rows, columns=["seq", "frame", "source_track", "target_track", "r_um", "alpha_b1_0",
                                       "alpha_b2_0"])


def test_attention_png_on_real_data_has_no_blank_half_and_says_why():
    att = _attention(np.random.default_rng(0))
    model = NS(r_cut_um=20.0, prior=NS(prior=NS(c_of_r=lambda r: -np.exp(-np.asarray(r) / 3))))
    fig = attention_figure(att, model, NS(seqs=[NS(truth=None)]), "transformer on BF-C2DL-HSC_02")
    main = [ax for ax in fig.axes if ax.get_ylabel().startswith("mean relative")]
    assert len(main) == 1 and NO_TRUTH_NOTE in fig.get_suptitle().replace("\n", " ")
    assert_readable(fig)


def test_attention_png_on_simulated_data_shows_attention_against_the_true_force():
    att = _attention(np.random.default_rng(1))
    pairs = att[["frame", "source_track", "target_track"]].rename(columns={"source_track": "i", "target_track": "j"})
    pairs = pairs.assign(f_mag=np.random.default_rng(2).uniform(0, 5, len(pairs)))
    fig = attention_figure(att, NS(r_cut_um=20.0, prior=None), NS(seqs=[NS(truth=NS(pairs=pairs))]), "physattn on sim")
    assert any("true |F_ij|" in ax.get_xlabel() for ax in fig.axes)
    assert_readable(fig)


def test_rollout_png_is_readable():
    ks = [1, 2, 4, 8, 16]
    models = {name: {"rmse_um": [a * k**0.5 for k in ks], "rmse_over_zero": [a * 0.9] * 5}
              for name, a in (("zero", 1.0), ("const-velocity", 1.2), ("oracle", 0.6), ("physattn", 0.8))}
    assert_readable(rollout_figure({"horizons_frames": ks, "n_start_frames": 8, "models": models}, LONG))


@pytest.mark.parametrize("name", ["msd", "g_r", "vacf", "polar_order"])
def test_distribution_pngs_are_readable(name):
    x = np.arange(1, 30, dtype=float)
    truth = {"msd": 2 * x, "g_r": 1 + np.exp(-x / 3) * np.cos(x), "vacf": np.exp(-x / 4), "polar_order": 0.08}[name]
    models = {"physattn[prior_transform=signed,train.eta_max=0]": truth * 1.1, "zero": truth * 0.5,
              "const-velocity": truth * 3.0}
    assert_readable(statistic_figure(name, x, truth, models, [truth * 1.02], f"{LONG}: free rollouts"))


@pytest.mark.parametrize("truth", [True, False])
def test_probe_png_is_readable_with_and_without_a_true_response(truth):
    r = np.linspace(3, 30, 40)
    true = np.where(r < 10, 3 * (10 - r) / 7, 0.0)
    models = {"physattn": {"response_um": list(0.1 * true - 0.01), "errors": {"rel_l2": 0.9}},
              "zero": {"response_um": [0.0] * 40}, "oracle": {"response_um": list(true)},
              "const-velocity": {"response_um": [0.0] * 40}}
    section = {"grid_r_um": list(r), "models": models, "truth": {"response_um": list(true)} if truth else None,
               "r_seen_min_um": 9.0, "n_orientations": 4, "range_um": 10.0}
    fig = probe_figure(section, LONG)
    for ax in fig.axes:
        if ax.get_visible():  # ticks at 0 and whole decades only: none crowd around 0
            ticks = [t for t in ax.get_yticks() if t != 0]
            assert all(np.isclose(np.log10(abs(t)), round(np.log10(abs(t)))) for t in ticks)
    assert_readable(fig)


# -- prior, simulation and fit ------------------------------------------------------------------------

def _prior(sparse: bool) -> Prior:
    k = np.linspace(0, 4, 120)
    r = np.linspace(0.05, 30, 300)
    S = 1 - 0.9 * np.exp(-((k - (0.25 if sparse else 1.0)) / 0.1) ** 2)  # a dip to 0.1
    if sparse:
        S = S - 0.2 * np.exp(-((k - 0.25) / 0.05) ** 2)  # below zero: clamped
    rho = 0.005
    C = (1 - 1 / np.maximum(S, 0.01)) / rho
    diag = {"k_guard_inv_um": 0.1, "g_r": 1 - np.exp(-r / 5), "S0_standard_error": 0.2, "S0_resolved": not sparse}
    return Prior(k, S, C, r, -5 * np.exp(-r / 4) + (300 if sparse else 0) * np.exp(-((r - 12) / 4) ** 2), rho, 9.0,
                 {"s_min": 0.01, "r_max_um": 30.0}, diag)


@pytest.mark.parametrize("sparse", [False, True])
def test_prior_png_is_readable_and_shows_its_warnings(sparse):
    warnings = ["warning: " + "S(k) reaches -0.096 at k = 0.23 1/um: below 0; average more frames " * 4] * 3 if sparse else []
    curves = {"PY": {"k": np.linspace(0, 4, 50), "S": np.ones(50), "r": np.linspace(0, 30, 50), "c": -np.ones(50)},
              "uniform null (max |c|)": {"r": np.linspace(0, 30, 50), "c": np.full(50, 0.2)}}
    fig = prior_figure(_prior(sparse), curves, f"{LONG}: rho = 0.005 /um^2", warnings)
    shown = " ".join(t.get_text() for f in _figures(fig) for t in f.texts).replace("\n", " ")
    assert ("S(k) reaches -0.096" in shown) is sparse
    c_ax = fig.axes[3]
    lo, hi = c_ax.get_ylim()
    assert lo <= _prior(sparse).c_r.min() and hi >= _prior(sparse).c_r.max()  # c(r) is never cut off
    assert_readable(fig)


def test_simulation_pngs_keep_the_legend_off_the_cells():
    from cellbench.sim import simulate
    from cellbench.sim.output import msd_figure, snapshot_figure

    result = simulate("default", 0, {"n_frames": 8, "record_every": 20, "n_equil_steps": 20})
    assert_readable(snapshot_figure(result))
    assert_readable(msd_figure(result))


def test_fit_png_is_readable():
    lags = np.arange(1, 21)
    frames = np.arange(300)

    def summary(scale):
        return NS(lags_frames=lags, msd_um2=scale * 10 * lags, rho1_xy=np.array([0.02, 0.1]) * scale, frames=frames,
                  counts=1 + frames // 40, r_um=np.linspace(0.5, 60, 60), g=1 + np.exp(-np.linspace(0.5, 60, 60) / 10))

    fit = NS(stats={"frame_interval_s": 300.0, "dataset": LONG},
             motion=NS(lags_frames=lags, model_msd_um2=lambda l: 10.0 * np.asarray(l)))
    assert_readable(fit_figure(fit, summary(1.0), summary(1.1)))

