"""Layout of the parameter vector ``prm`` (float64, length ``N_PRM``) that every kernel reads.

``cellbench.sim.engine.kernel_params`` fills it from a ``SimConfig``; the kernels index it with
the ``P_*`` constants below (plain ints, frozen into the compiled code as constants).
"""

from __future__ import annotations

P_PERIODIC = 0  # 1.0 periodic square box [0, L)^2, 0.0 open domain (microwell)
P_L = 1  # box side, um (periodic)
P_OX, P_OY = 2, 3  # lower-left corner of the cell grid, um
P_CELL = 4  # cell side of the cell list, um (>= largest interaction range)
P_NC = 5  # number of cells per side
P_WELL_R = 6  # microwell radius, um (0: no wall)
P_WALL_K = 7  # wall spring constant, kT/um^2
P_V0 = 8  # self-propulsion speed, um/s
P_MU = 9  # mobility, um^2/(kT s)
P_SQ2DT = 10  # sqrt(2 D_t dt), um
P_SQ2DR = 11  # sqrt(2 D_r dt), rad
P_DT = 12  # time step, s
P_ALIGN_G = 13  # alignment strength, 1/s
P_ALIGN_R = 14  # alignment range, um
P_KIND = 15  # potential kind (cellbench.sim.potentials.KIND_*)
P_POT = 16  # 4 potential parameters: 16..19
P_RMAX = 20  # largest potential cutoff over all pairs, um
P_DIV_RATE = 21  # division rate, 1/s (0: no division)
P_DIV_AGE = 22  # minimum age before division, s
P_DIV_SEP = 23  # half distance between the two daughters at birth, in units of the mother radius
P_CAP = 24  # capacity (max number of cells)
P_PAR_MIN = 25  # fewest alive cells for which a step runs as a parallel (prange) loop
P_SKIN = 26  # Verlet-list skin, um (the cell side is >= interaction range + skin)
N_PRM = 27

# Below this many cells a parallel region costs more to launch than it saves (and on a loaded
# machine a descheduled worker stalls every step), so small systems run the same per-particle
# code in a serial loop; the result is bitwise the same.
PARALLEL_MIN_CELLS = 2000
