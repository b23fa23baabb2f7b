"""cellbench's pair statistics against freud (glotzerlab), the reference analysis code of the field.

Issue 18: on ``passive-wca`` and ``passive-yukawa`` (seed 0, the whole periodic box, field of view
cropped from it) cellbench and freud agree within statistical noise:

- g(r): the estimator's histogram against ``freud.density.RDF`` in ``finite_size`` mode (the
  N(N-1) normalisation cellbench uses), same frames, same bins. Same quantity on the same data,
  so the only difference is freud's single precision: the tolerance is the change that rounding
  the positions to float32 makes in cellbench's own g(r), measured in the test.
- S(k): the estimator's isotropic S(|k|) (Hankel transform of h, periodic or field of view with
  its edge correction) against ``freud.diffraction.StaticStructureFactorDirect`` on the full
  periodic frames. Two estimators of one S(k): the tolerance is the noise of their difference,
  from blocks of frames.
- Debye S(k) on windowed frames against freud's Debye (J0 in 2D): one formula, float32 round-off.

Run with ``pytest -m peer`` (skipped when freud is not installed). Every test prints one line
starting with ``peer:``; ``docs/validation.md`` has the last measured values.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from scipy.stats import chi2

from cellbench.prior.automatic import DR_SPACING_FRACTION, R_MAX_SPACINGS
from cellbench.prior.correlation import structure_factor_from_h
from cellbench.prior.estimator import PriorEstimator
from cellbench.prior.structure import structure_factor_debye
from cellbench.prior.window import Window
from cellbench.sim import PRESETS as SIM_PRESETS
from tests.peer.util import crop, frames_of, peer_version

pytestmark = pytest.mark.peer

PRESETS = ("passive-wca", "passive-yukawa")
RDF_FRAMES = 20
"""g(r) compares the same frames, so few are needed (the noise is only quoted)."""
RDF_BINS = 300
"""Bins of the estimator's width (mean spacing / 200: 0.07 um for WCA) out to ~2-3 sigma. freud
3.4's RDF memory grows like bins^2 (2.3 GB at 800 bins, 0.25 GB at 300), so not the full r_c."""
K_MAX_INV_UM = 1.0
"""k sigma up to 10: the main peak (k sigma ~ 7 for WCA) and beyond."""
DK_BIN_INV_UM = 0.01
N_BLOCKS = 10
P_FAIL = 1e-3
"""Chance of a false failure of each statistical comparison."""
EPS32 = float(np.finfo(np.float32).eps)


def _spacing_um(frames: list[np.ndarray], area_um2: float) -> float:
    return float(np.mean([len(f) for f in frames]) / area_um2) ** -0.5


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _xyz(frame_um: np.ndarray, center_um: float) -> np.ndarray:
    """freud's boxes are centred on the origin and take (n, 3) points."""
    return np.c_[frame_um - center_um, np.zeros(len(frame_um))]


@pytest.mark.parametrize("preset", PRESETS)
def test_rdf_matches_freud_finite_size(preset, freud_module, passive_run):
    freud = freud_module
    sim = passive_run(preset)
    frames = frames_of(sim)[:RDF_FRAMES]
    L = float(sim.meta["box_um"])
    dr = DR_SPACING_FRACTION * _spacing_um(frames, L * L)
    r_max = RDF_BINS * dr
    win = Window.periodic((L, L))

    def g_cellbench(fr):
        return PriorEstimator(win, r_max, dr).compute(fr).g_r

    def g_freud(mode):
        rdf = freud.density.RDF(bins=RDF_BINS, r_max=r_max, normalization_mode=mode)
        for f in frames:
            rdf.compute((freud.box.Box.square(L), _xyz(f, L / 2)), reset=False)
        return rdf

    g = g_cellbench(frames)
    fs = g_freud("finite_size")
    npt.assert_allclose(fs.bin_edges, np.linspace(0.0, r_max, RDF_BINS + 1), atol=1e-5 * r_max)  # float32 edges
    # the precision floor: cellbench's own g(r) from positions rounded as freud stores them
    g32 = g_cellbench([(f - L / 2).astype(np.float32).astype(float) + L / 2 for f in frames])
    floor = _rms(g - g32)
    diff = _rms(g - fs.rdf)
    noise = _rms(g_cellbench(frames[0::2]) - g_cellbench(frames[1::2])) / 2  # half-split, quoted only
    print(f"\npeer: g(r) {preset} vs freud {peer_version('freud-analysis')} RDF finite_size: rms diff "
          f"{diff:.2e}, float32 floor {floor:.2e}, half-split noise {noise:.3g} ({RDF_FRAMES} frames, "
          f"{RDF_BINS} bins of {dr:.3f} um)")
    assert floor > 0
    # freud also rounds its minimum-image arithmetic in float32, about as much again as the input
    # (the two add in quadrature: sqrt(2) x floor); 3 x floor leaves room for the scatter of an rms
    assert diff <= 3 * floor
    # negative control: the default 'exact' mode normalises by N^2 instead of N(N-1), a relative
    # (N-1)/N, and the same comparison sees it
    n = len(frames[0])
    exact = g_freud("exact").rdf
    npt.assert_allclose(exact, fs.rdf * (n - 1) / n, rtol=1e-5, atol=1e-6)  # float32 arithmetic
    assert _rms(g - exact) > 3 * floor


_DIRECT: dict = {}


def _freud_direct_blocks(freud, preset, frames, L, edges) -> np.ndarray:
    """(N_BLOCKS, n_k_bins) freud S(k) of each block of consecutive frames (cached per preset)."""
    if preset not in _DIRECT:
        out = []
        for block in np.array_split(np.arange(len(frames)), N_BLOCKS):
            sf = freud.diffraction.StaticStructureFactorDirect(bins=len(edges) - 1, k_max=edges[-1], k_min=edges[0])
            # freud rejects 2D boxes: a 3D box with a thin z side (2 pi / Lz > k_max: only k_z = 0)
            box = freud.box.Box(L, L, 1.0)
            for i in block:
                sf.compute((box, _xyz(frames[i], L / 2)), reset=False)
            npt.assert_allclose(sf.bin_edges, edges, atol=1e-6)
            out.append(np.array(sf.S_k))
        _DIRECT[preset] = np.array(out)
    return _DIRECT[preset]


@pytest.mark.parametrize("where", ["periodic", "field of view"])
@pytest.mark.parametrize("preset", PRESETS)
def test_structure_factor_matches_freud_direct(preset, where, freud_module, passive_run):
    sim = passive_run(preset)
    frames = frames_of(sim)
    L = float(sim.meta["box_um"])
    # bins from 2.5 x 2 pi / L (no lattice vector sits on that edge) to K_MAX
    k_min = 2.5 * 2 * np.pi / L
    n_kbins = int(round((K_MAX_INV_UM - k_min) / DK_BIN_INV_UM))
    edges = np.linspace(k_min, K_MAX_INV_UM, n_kbins + 1)
    # the k vectors freud samples: reciprocal lattice with k_x, k_y >= 0 (a quadrant, axes included)
    m = np.arange(int(np.ceil(K_MAX_INV_UM * L / (2 * np.pi))) + 1)
    kk = (2 * np.pi / L) * np.hypot(m[:, None], m[None, :]).ravel()
    kk = kk[(kk >= k_min) & (kk <= K_MAX_INV_UM)]
    idx = np.minimum(np.searchsorted(edges, kk, side="right") - 1, n_kbins - 1)
    counts = np.bincount(idx, minlength=n_kbins)
    if where == "periodic":
        win, fr = Window.periodic((L, L)), frames
        r_c = min(R_MAX_SPACINGS["periodic"] * _spacing_um(fr, L * L), 0.999 * L / 2)
    else:
        fov = SIM_PRESETS[preset].fov_um
        win = Window.box(fov)
        fr = [crop(f, fov) for f in frames]
        r_c = R_MAX_SPACINGS["box"] * _spacing_um(fr, win.area_um2)
    dr = DR_SPACING_FRACTION * _spacing_um(fr, win.area_um2)

    def s_cellbench(block):
        """The estimator's S(|k|) averaged over exactly freud's vectors in each bin."""
        est = PriorEstimator(win, r_c, dr).compute(block)
        s_at = structure_factor_from_h(est.h_r, est.r_edges_um, est.rho_per_um2, kk)
        return np.bincount(idx, s_at, minlength=n_kbins) / np.maximum(counts, 1)

    s_freud_blocks = _freud_direct_blocks(freud_module, preset, frames, L, edges)
    blocks = np.array_split(np.arange(len(frames)), N_BLOCKS)
    d_blocks = np.array([s_cellbench([fr[i] for i in b]) for b in blocks]) - s_freud_blocks
    # equal blocks: freud's all-frame S(k) (a binned mean over every frame's vectors) is the block mean
    d = s_cellbench(fr) - s_freud_blocks.mean(axis=0)
    ok = counts > 0
    sigma = d_blocks.std(axis=0, ddof=1) / np.sqrt(N_BLOCKS)  # per-bin noise of the difference
    rms_d, rms_sigma = _rms(d[ok]), _rms(sigma[ok])
    # identical expectations give rms_d ~ rms_sigma. The bins are correlated: an S(k) from h on
    # [0, r_c] has ~ (k_max - k_min) r_c / (2 pi) independent values; rms_d^2 / rms_sigma^2 is then
    # ~ chi2(n_eff) / n_eff, and the band is its 1 - P_FAIL quantile
    n_eff = max((K_MAX_INV_UM - k_min) * r_c / (2 * np.pi), 1.0)
    band = float(np.sqrt(chi2.ppf(1 - P_FAIL, n_eff) / n_eff))
    print(f"\npeer: S(k) {preset} {where} vs freud {peer_version('freud-analysis')} StaticStructureFactorDirect: "
          f"rms diff {rms_d:.4f}, noise {rms_sigma:.4f} ({N_BLOCKS} blocks), {int(ok.sum())} bins "
          f"{k_min:.3f}-{K_MAX_INV_UM:g} /um, {len(frames)} frames; allowed {band:.2f} x noise")
    assert rms_d <= band * rms_sigma


@pytest.mark.parametrize("preset", PRESETS)
def test_debye_matches_freud_debye(preset, freud_module, passive_run):
    """Both evaluate S(k) = 1 + (2/N) sum_{i<j} J0(k r_ij) on the open (windowed) frames."""
    freud = freud_module
    sim = passive_run(preset)
    fov = SIM_PRESETS[preset].fov_um
    frames = [crop(f, fov) for f in frames_of(sim)[:5]]
    center = 0.5 * (fov[0] + fov[2])
    debye = freud.diffraction.StaticStructureFactorDebye(num_k_values=20, k_max=K_MAX_INV_UM, k_min=0.02)
    box = freud.box.Box.square(2.0 * (fov[2] - fov[0]))  # larger than twice the window: no periodic image
    for f in frames:
        debye.compute((box, _xyz(f, center)), reset=False)
    k = np.asarray(debye.k_values, dtype=float)
    ours = np.mean([structure_factor_debye(f, k) for f in frames], axis=0)
    rel = float(np.max(np.abs(ours / debye.S_k - 1)))
    n_pairs = max(len(f) for f in frames) ** 2 / 2
    # float32 round-off of a sum of n_pairs terms grows like sqrt(n_pairs) eps32 (a random walk);
    # allow 10 times that (1e-4 for ~300 cells)
    rtol = 10 * np.sqrt(n_pairs) * EPS32
    print(f"\npeer: Debye S(k) {preset} field of view vs freud {peer_version('freud-analysis')} "
          f"StaticStructureFactorDebye: max relative diff {rel:.1e} (allowed {rtol:.1e}), {len(frames)} frames")
    assert rel <= rtol
