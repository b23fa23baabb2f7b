r"""Numba kernels of the simulators: counter-based RNG, cell and Verlet lists, forces, Euler-Maruyama steps.

Arrays in, arrays out, no I/O and no checks (the Python wrappers validate). The state of a
system with capacity ``cap`` is a set of arrays of length ``cap`` of which the first ``n`` are
alive: ``x, y`` (um), ``th`` (rad), ``a`` (radius, um), ``tid`` (track id), ``par`` (parent
track id, -1), ``age`` (s), ``imx, imy`` (periodic image counters).

Units: energies in kT, forces in kT/um, the mobility ``mu`` in um^2/(kT s), so ``mu F`` is a
velocity in um/s and D_t = mu kT (Einstein).

Reproducibility: every random number is a hash of (seed, step, track id, stream) (a
counter-based generator), so a particle's noise does not depend on which thread updates it or
where it is stored, and every force is summed over the particle's own full neighbour list in a
fixed order (the lists are built from a serial counting sort), so trajectories are bitwise
identical for any number of threads. Each thread writes only its own entries: no scatter, no
atomics.

Layout of a step (:func:`.integrate.advance`): one pass over the pairs of a half list, each
pair's force computed once and written to its own slot of a buffer (a ``prange`` loop above
PARALLEL_MIN_CELLS), then one pass over the particles: each sums the buffer entries of its own
full Verlet list, in list order, with the sign that makes it the force on itself (Newton's third
law, bitwise the same sum as computing every term twice: :mod:`.newton`), draws three ziggurat
normals from its key, and writes its new state to the other half of a pair of buffers
(neighbours read the old positions); the largest rebuild flag is a ``max`` reduction. The
Verlet lists (every neighbour within interaction range + skin, from a cell list) are reused
until some particle has moved half a skin; at each rebuild the working copy of the state is
sorted by cell (:mod:`.layout`; within a cell by the caller's index, so every list is the same
sequence of particles) and written back in the caller's order at the end.

What made it fast, measured on WCA, phi 0.4, N = 10^4, ~3 neighbours per list
(benchmarks/bench_simulators.py; instruction counts by ``valgrind --tool=callgrind``): no
data-dependent branch in the inner loops (the cutoff and the list-building distance test are
0/1 factors; a mispredicted branch cost more than a pair term), cell rows scanned as one range,
normals by a ziggurat (no logarithm), a polynomial cos/sin, no array-passing calls inside the
particle loop (numba reference counts them); then the state sorted by cell (neighbours' data in
nearby cache lines: 1.06x CPU time on a 1 MB L2, more where the random-order state, ~1.2 MB,
does not fit) and each pair once (1.10x more; 703 -> 656 instructions per particle-step). The
rest of a particle-step is fixed cost: about 155 instructions for the three normals, 290 for
the orientation vector, the update, wrapping and the skin check.

ISA: numba compiles for the host CPU. On the baseline x86-64 target (SSE2 only, e.g.
``NUMBA_CPU_NAME=generic``) every ``np.rint`` and ``np.floor`` becomes a libm call: 21 % more
instructions and ~20 % more time than with SSE4.1/AVX2. Results are the same bits on every
target (no fastmath, so no fused multiply-adds).

The parameter vector ``prm`` (float64) is laid out by the ``P_*`` indices of :mod:`.params`.

Modules, one job each (callers use the names re-exported here, ``K.advance``):

- ``params``: the layout of ``prm`` and the default parallel threshold;
- ``rng``: counter-based random numbers and ziggurat normals;
- ``trig``: the orientation vector (cos, sin) by polynomials;
- ``pair``: cutoff and force of one pair, for each potential kind;
- ``geometry``: minimum image and periodic wrapping;
- ``neighbours``: cell lists and Verlet lists;
- ``interactions``: the pair term, per-particle force sums, the force and pair tables, the
  all-pairs reference;
- ``newton``: each pair once: the half list and the pair-force buffer;
- ``layout``: the state sorted by cell inside the step loop;
- ``integrate``: the Euler-Maruyama step of one particle, division, the step loop;
- ``_cache``: the guard of numba's on-disk cache, below.

Cache: every kernel is ``@njit(cache=True)``, and numba checks a cached kernel against its own
file only, although its machine code includes the callees it inlined from other files. So the
first thing this package does is :func:`._cache.install`: for kernels of this package, the
freshness stamp of numba's cache index is the sha256 of every ``*.py`` file here, so an edit to
any of them recompiles all kernels once at the next import, and no kernel ever runs a stale
callee from the cache. The cache stays where numba puts it (``__pycache__`` beside the files, or
``NUMBA_CACHE_DIR``). Nothing compiles at import. ``tests/test_sim_kernels_cache.py`` edits a
callee in a copy of the package and checks that the caller's result changes.
"""

from cellbench.sim.kernels import _cache

_cache.install()  # before any @njit(cache=True) below is decorated

from cellbench.sim.kernels.integrate import advance, divide  # noqa: E402
from cellbench.sim.kernels.interactions import forces, forces_brute, pairs_within  # noqa: E402
from cellbench.sim.kernels.neighbours import build_cells, build_verlet  # noqa: E402
from cellbench.sim.kernels.pair import pair_force_scalar  # noqa: E402
from cellbench.sim.kernels.params import (  # noqa: E402
    N_PRM, P_ALIGN_G, P_ALIGN_R, P_CAP, P_CELL, P_DIV_AGE, P_DIV_RATE, P_DIV_SEP, P_DT, P_KIND, P_L, P_MU, P_NC, P_OX,
    P_OY, P_PAR_MIN, P_PERIODIC, P_POT, P_RMAX, P_SKIN, P_SQ2DR, P_SQ2DT, P_V0, P_WALL_K, P_WELL_R, PARALLEL_MIN_CELLS)
from cellbench.sim.kernels.rng import (  # noqa: E402
    N_STREAMS, STREAM_DIV, STREAM_DIVDIR, STREAM_TH, STREAM_X, STREAM_Y, normals)
from cellbench.sim.kernels.trig import cos_sin_array  # noqa: E402

__all__ = [
    "N_PRM", "N_STREAMS", "PARALLEL_MIN_CELLS", "P_ALIGN_G", "P_ALIGN_R", "P_CAP", "P_CELL", "P_DIV_AGE", "P_DIV_RATE",
    "P_DIV_SEP", "P_DT", "P_KIND", "P_L", "P_MU", "P_NC", "P_OX", "P_OY", "P_PAR_MIN", "P_PERIODIC", "P_POT", "P_RMAX",
    "P_SKIN", "P_SQ2DR", "P_SQ2DT", "P_V0", "P_WALL_K", "P_WELL_R", "STREAM_DIV", "STREAM_DIVDIR", "STREAM_TH",
    "STREAM_X", "STREAM_Y", "advance", "build_cells", "build_verlet", "cos_sin_array", "divide", "forces",
    "forces_brute", "normals", "pair_force_scalar", "pairs_within",
]
