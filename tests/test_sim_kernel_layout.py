"""The step loop's storage and pair bookkeeping change no bit: the state sorted by cell (``layout``),
each pair once (``newton``), and the same numbers for 1 and 2 threads.

Several steps with list rebuilds and divisions are checked against outputs recorded with the
kernels before these changes by ``tests/test_identity.py`` (every preset, byte for byte); here
each piece is checked against the plain full-list sums of :func:`cellbench.sim.kernels.forces`.
"""

import numba
import numpy as np
import numpy.testing as npt
import pytest

from cellbench.sim import kernels as K
from cellbench.sim.config import SimConfig
from cellbench.sim.engine import initial_state, kernel_params
from cellbench.sim.kernels.layout import sort_state
from cellbench.sim.kernels.newton import gathered_force, half_list, pair_forces
from cellbench.sim.potentials import PairPotential

POTS = [
    PairPotential("wca", sigma_um=10.0, epsilon_kT=10.0),
    PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=2.0),
    PairPotential("lennard_jones", sigma_um=10.0, epsilon_kT=1.0, r_cut_um=25.0),
    PairPotential("yukawa", sigma_um=10.0, A_kT_um=300.0, kappa_per_um=0.2, r_cut_um=30.0),
    PairPotential("morse", sigma_um=10.0, epsilon_kT=4.0, alpha_per_um=0.5, r_cut_um=15.0),
]


def _system(boundary: str, pot: PairPotential, n: int = 400, seed: int = 2):
    """Random positions (caller's order unrelated to space), 30 close contacts, cells on the box edges."""
    if boundary == "periodic":
        cfg = SimConfig(n_cells=n, box_um=260.0, potential=pot, radius_spread=0.2, init="random", v0_um_per_s=0.0)
    else:
        cfg = SimConfig(n_cells=n, boundary="microwell", box_um=None, well_radius_um=150.0, wall_k_kT_per_um2=1.0,
                        potential=pot, radius_spread=0.2, init="random", v0_um_per_s=0.0)
    st = initial_state(cfg, seed)
    st.x[10:40] = st.x[40:70] + 8.0
    st.y[10:40] = st.y[40:70]
    if boundary == "periodic":
        st.x[:n] %= 260.0
        st.x[:4] = [0.0, 259.999, 1e-9, 130.0]
        st.y[:4] = [259.9, 0.1, 0.0, 259.999]
    return cfg, st, kernel_params(cfg)


def _lists(st, prm):
    nb_start = np.empty(st.n + 1, np.int64)
    nb = K.build_verlet(st.x, st.y, st.n, prm, nb_start, False)
    return nb_start, nb


@pytest.mark.parametrize("boundary", ["periodic", "microwell"])
def test_sort_state_orders_by_cell_then_caller_index(boundary):
    cfg, st, prm = _system(boundary, POTS[0])
    n, cap = st.n, st.x.shape[0]
    before = st.copy()
    slot_of, store_of = np.arange(cap), np.arange(cap)
    cell_of, order = np.empty(cap, np.int64), np.empty(cap, np.int64)
    start = np.empty(int(prm[K.P_NC]) ** 2 + 1, np.int64)
    sort_state(*st.arrays(), slot_of, store_of, n, prm, cell_of, start, order)
    key = cell_of[:n] * cap + slot_of[:n]
    assert np.all(np.diff(key) > 0)  # cells in order, and inside a cell the caller's order
    assert not np.array_equal(slot_of[:n], np.arange(n))  # the sort did move particles
    npt.assert_array_equal(store_of[slot_of[:n]], np.arange(n))
    npt.assert_array_equal(order[:n], np.arange(n))
    for name in ("x", "y", "th", "a", "tid", "par", "age", "imx", "imy"):
        npt.assert_array_equal(getattr(st, name)[:n], getattr(before, name)[slot_of[:n]], err_msg=name)
    for c in np.unique(cell_of[:n]):  # start[] delimits the sorted cells
        npt.assert_array_equal(np.flatnonzero(cell_of[:n] == c), np.arange(start[c], start[c + 1]))
    # sorted again after the cells moved: still by cell, then by the caller's index (not by storage)
    st.x[:n] = (st.x[:n] + 1.3 * prm[K.P_CELL] * np.sin(np.arange(n))) % cfg.box_um if boundary == "periodic" \
        else st.x[:n] + 1.3 * prm[K.P_CELL] * np.sin(np.arange(n))
    sort_state(*st.arrays(), slot_of, store_of, n, prm, cell_of, start, order)
    assert np.all(np.diff(cell_of[:n] * cap + slot_of[:n]) > 0)
    npt.assert_array_equal(store_of[slot_of[:n]], np.arange(n))
    npt.assert_array_equal(st.tid[:n], before.tid[slot_of[:n]])


def test_half_list_holds_each_listed_pair_once_with_its_orientation():
    cfg, st, prm = _system("periodic", POTS[3])
    nb_start, nb = _lists(st, prm)
    pi, pj, code = half_list(nb_start, nb, st.n)
    assert len(pi) == len(nb) // 2  # every pair listed by both particles here
    assert len({(min(a, b), max(a, b)) for a, b in zip(pi, pj)}) == len(pi)
    owner = np.repeat(np.arange(st.n), np.diff(nb_start))
    p, flipped = code // 2, code % 2 == 1
    npt.assert_array_equal(np.where(flipped, pj[p], pi[p]), owner)  # the force on the list's owner ...
    npt.assert_array_equal(np.where(flipped, pi[p], pj[p]), nb)  # ... from the listed neighbour


def test_half_list_gives_a_pair_listed_by_one_side_its_own_entry():
    # 0 lists 1 and 2; 1 lists 0; 2 does not list 0 (a pair at the reach, rounded differently)
    nb_start = np.array([0, 2, 3, 3])
    nb = np.array([1, 2, 0], np.int32)
    pi, pj, code = half_list(nb_start, nb, 3)
    npt.assert_array_equal(pi, [0, 0])
    npt.assert_array_equal(pj, [1, 2])
    npt.assert_array_equal(code, [0, 2, 1])


@numba.njit
def _gathered(n, nb_start, code, fb):
    out = np.empty((2, n))
    for i in range(n):
        out[0, i], out[1, i] = gathered_force(i, nb_start, code, fb)
    return out


@pytest.mark.parametrize("boundary", ["periodic", "microwell"])
@pytest.mark.parametrize("pot", POTS, ids=[p.name for p in POTS])
def test_each_pair_once_gives_the_full_list_sums_bit_for_bit(boundary, pot):
    cfg, st, prm = _system(boundary, pot)
    nb_start, nb = _lists(st, prm)
    pi, pj, code = half_list(nb_start, nb, st.n)
    fb = np.empty(2 * len(pi))
    L = prm[K.P_L] if boundary == "periodic" else 0.0
    pair_forces(st.x, st.y, st.a, prm, pi, pj, L, 1.0 / L if L else 0.0, fb, False)
    full = K.forces(st.x, st.y, st.th, st.a, st.n, prm)[:2]
    assert np.count_nonzero(full) > st.n // 4  # many particles feel a force
    npt.assert_array_equal(_gathered(st.n, nb_start, code, fb), full)


@pytest.mark.parametrize("boundary", ["periodic", "microwell"])
@pytest.mark.parametrize("pot", POTS[:2], ids=[p.name for p in POTS[:2]])
def test_a_step_moves_each_cell_by_the_full_list_force_bit_for_bit(boundary, pot):
    # v0 = 0 and no noise: x(dt) = x + (0 e + mu (F + F_wall)) dt, with F from plain full lists;
    # 200 cells in random order in memory, placed without overlap (WCA acts within 1.12 contact
    # distances); the soft harmonic disks get 30 overlapping pairs
    n = 200
    if boundary == "periodic":
        cfg = SimConfig(n_cells=n, box_um=260.0, potential=pot, radius_spread=0.2, init="random")
    else:
        cfg = SimConfig(n_cells=n, boundary="microwell", box_um=None, well_radius_um=150.0, wall_k_kT_per_um2=1.0,
                        potential=pot, radius_spread=0.2, init="random")
    st, prm = initial_state(cfg, 3), kernel_params(cfg)
    if pot.name == "harmonic":
        st.x[10:40] = st.x[40:70] + 8.0
        st.y[10:40] = st.y[40:70]
    f = K.forces(st.x, st.y, st.th, st.a, st.n, prm)
    ex, ey = K.cos_sin_array(st.th[:n])
    mu, dt = prm[K.P_MU], prm[K.P_DT]
    want_x = st.x[:n] + (0.0 * ex + mu * (f[0] + f[2])) * dt
    want_y = st.y[:n] + (0.0 * ey + mu * (f[1] + f[3])) * dt
    moved = st.copy()
    n_after, _, ok = K.advance(*moved.arrays(), n, st.next_id, 0, 1, 0, False, prm)
    assert ok and n_after == n
    if boundary == "periodic":  # the kernel wraps into [0, L) and counts images
        want_x = want_x - cfg.box_um * (moved.imx[:n] - st.imx[:n])
        want_y = want_y - cfg.box_um * (moved.imy[:n] - st.imy[:n])
    assert np.count_nonzero(moved.x[:n] != st.x[:n]) > n // 10  # forces moved cells
    npt.assert_array_equal(moved.x[:n], want_x)
    npt.assert_array_equal(moved.y[:n], want_y)


def test_divisions_in_the_sorted_state_come_in_the_callers_order():
    # the same dynamics with the state sorted by cell (lists built: a harmonic potential of zero
    # stiffness, so no force) and unsorted (no potential, no lists): same track ids, same bits
    cfg = SimConfig(n_cells=300, box_um=300.0, potential=PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=1.0),
                    init="random", v0_um_per_s=5.0, D_t_um2_per_s=0.5, dt_s=0.05, division_rate_per_s=0.05,
                    max_cells=600)
    sorted_prm = kernel_params(cfg)
    sorted_prm[K.P_POT] = 0.0  # k = 0
    plain_prm = sorted_prm.copy()
    plain_prm[K.P_KIND] = 0
    runs = []
    for prm in (sorted_prm, plain_prm):
        st = initial_state(cfg, 1)
        st.n, st.next_id, ok = K.advance(*st.arrays(), st.n, st.next_id, 0, 200, 3, True, prm)
        assert ok
        runs.append(st)
    assert 330 < runs[0].n < 600  # dozens of divisions, capacity not reached
    assert runs[0].n == runs[1].n
    for name in ("x", "y", "th", "a", "tid", "par", "age", "imx", "imy"):
        npt.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name), err_msg=name)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("pot", [POTS[0], POTS[3]], ids=["wca", "yukawa"])
def test_parallel_steps_are_identical_on_one_and_two_threads(pot):
    # 3000 active, noisy cells for 300 steps (several list rebuilds, so several sorts of the state)
    cfg = SimConfig(n_cells=3000, box_um=700.0, potential=pot, v0_um_per_s=5.0, D_t_um2_per_s=0.1, D_r_per_s=0.1,
                    dt_s=0.01)
    prm = kernel_params(cfg)
    prm[K.P_PAR_MIN] = 0
    runs = []
    for threads in (1, 2):
        st = initial_state(cfg, 5)
        numba.set_num_threads(threads)
        try:
            n, _, ok = K.advance(*st.arrays(), st.n, st.next_id, 0, 300, 11, True, prm)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        assert ok
        runs.append(st)
    start, end = initial_state(cfg, 5), runs[0]
    moved = np.hypot(end.x + cfg.box_um * end.imx - start.x, end.y + cfg.box_um * end.imy - start.y)
    assert np.sort(moved)[-10] > prm[K.P_SKIN]  # cells crossed half a skin many times: the lists were rebuilt
    for name in ("x", "y", "th", "age", "imx", "imy", "tid"):
        npt.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name), err_msg=name)
