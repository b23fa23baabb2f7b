r"""Counter-based random numbers: a splitmix64 hash of (seed, step, track id, stream), ziggurat normals.

Every draw is a pure function of its key, so a particle's noise does not depend on which thread
updates it or on how many particles there are. Normals come from a 256-layer ziggurat
(Marsaglia and Tsang 2000): 98.8 % of draws take one hash, a multiply and a compare, no
logarithm.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Random streams: the words hashed into a particle's (seed, step, track id) key. Attempt k of a
# rejection sampler on stream s hashes the word s + N_STREAMS * k, so no two draws share bits.
STREAM_X, STREAM_Y, STREAM_TH, STREAM_DIV, STREAM_DIVDIR = 0, 1, 2, 3, 4
N_STREAMS = 8

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_ROOT = np.uint64(0x243F6A8885A308D3)
_SALT = np.uint64(0xD1B54A32D192ED03)  # derives the extra uniforms of the ziggurat's slow paths
_S8, _S11, _S30, _S27, _S31, _S32 = (np.uint64(k) for k in (8, 11, 30, 27, 31, 32))
_ONE, _MASK8 = np.uint64(1), np.uint64(255)
_TWO_M32 = 2.0**-32
_TWO_M53 = 2.0**-53


# -- counter-based random numbers ---------------------------------------------------------------
@njit(cache=True, inline="always")
def _mix(h, v):
    """Absorb the 64-bit word ``v`` into the state ``h`` (splitmix64 finaliser)."""
    z = (h ^ v) + _GOLD
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def step_key(seed, step):
    """The generator's key for (seed, step); :func:`rng_key` adds the particle id."""
    return _mix(_mix(_ROOT, np.uint64(seed)), np.uint64(step))


@njit(cache=True, inline="always")
def rng_key(seed, step, pid):
    """The generator's key for (seed, step, particle id); draws hash a stream word into it."""
    return _mix(step_key(seed, step), np.uint64(pid))


@njit(cache=True, inline="always")
def rng_uniform2(seed, step, pid, stream):
    """Two uniforms in (0, 1] with 32-bit resolution, a pure function of the four arguments."""
    h = _mix(rng_key(seed, step, pid), np.uint64(stream))
    u1 = (np.float64(h >> _S32) + 1.0) * _TWO_M32
    u2 = (np.float64(h & np.uint64(0xFFFFFFFF)) + 1.0) * _TWO_M32
    return u1, u2


def _ziggurat_tables(n_layers: int = 256, r: float = 3.6541528853610088):
    r"""Edges ``X`` (n_layers + 1,) and heights ``F = exp(-X^2/2)`` of the normal ziggurat.

    The area under :math:`f(x) = e^{-x^2/2}`, :math:`x \ge 0`, is covered by ``n_layers``
    layers of equal area :math:`v = r f(r) + \int_r^\infty f`: a base strip (the rectangle
    [0, r] x [0, f(r)] plus the tail beyond r, given the pseudo-width X[0] = v / f(r)) and
    rectangles [0, X[i]] x [f(X[i]), f(X[i+1])] with :math:`f(X_{i+1}) = f(X_i) + v / X_i`,
    X[1] = r, X[n_layers] = 0. ``r`` is the root that closes the top layer at x = 0 for 256
    layers (Marsaglia and Tsang 2000).
    """
    f = lambda t: math.exp(-0.5 * t * t)  # noqa: E731
    v = r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2.0))
    X = np.empty(n_layers + 1)
    X[0], X[1] = v / f(r), r
    for i in range(1, n_layers - 1):
        X[i + 1] = math.sqrt(-2.0 * math.log(f(X[i]) + v / X[i]))
    X[n_layers] = 0.0
    return X, np.exp(-0.5 * X * X), v


_ZIG_X, _ZIG_F, _ZIG_V = _ziggurat_tables()
_ZIG_R = float(_ZIG_X[1])


@njit(cache=True)
def _normal_tail(h):
    r"""|z| > r from the normal tail (Marsaglia 1964), with uniforms hashed from ``h``.

    Draw :math:`e_1 = -\ln(u_1)/r`, :math:`e_2 = -\ln u_2` until :math:`2 e_2 > e_1^2`; then
    :math:`r + e_1` has the density of the tail.
    """
    t = 1
    while True:
        g1 = _mix(h, _SALT + np.uint64(2 * t))
        g2 = _mix(h, _SALT + np.uint64(2 * t + 1))
        e1 = -np.log((np.float64(g1 >> _S11) + 1.0) * _TWO_M53) / _ZIG_R
        e2 = -np.log((np.float64(g2 >> _S11) + 1.0) * _TWO_M53)
        if 2.0 * e2 > e1 * e1:
            return _ZIG_R + e1
        t += 1


@njit(cache=True, inline="always")
def normal_from_key(key, stream):
    """A standard normal by the 256-layer ziggurat, a pure function of (key, stream).

    Attempt k hashes the word ``stream + N_STREAMS * k`` into ``key``: bits 0-7 pick the layer
    i, bit 8 the sign, bits 11-63 a uniform u in [0, 1), z = u X[i]. z < X[i+1] is accepted at
    once (98.8 % of draws: one hash, a multiply and a compare, no logarithm); otherwise the base
    layer samples the tail and the other layers test the wedge against exp(-z^2/2) with a second
    uniform, retrying on rejection.
    """
    k = 0
    while True:
        h = _mix(key, np.uint64(stream + N_STREAMS * k))
        i = np.intp(h & _MASK8)
        z = np.float64(h >> _S11) * _TWO_M53 * _ZIG_X[i]
        if z >= _ZIG_X[i + 1]:
            if i == 0:
                z = _normal_tail(h)
            else:
                w = np.float64(_mix(h, _SALT) >> _S11) * _TWO_M53
                if _ZIG_F[i] + w * (_ZIG_F[i + 1] - _ZIG_F[i]) >= np.exp(-0.5 * z * z):
                    k += 1
                    continue
        return z * (1.0 - 2.0 * np.float64((h >> _S8) & _ONE))  # bit 8: the sign, without a branch


@njit(cache=True)
def normals(seed, step, pids, stream):
    """Standard normals of particle ids ``pids`` on ``stream`` at (seed, step) (tests the generator)."""
    out = np.empty(pids.shape[0])
    for k in range(pids.shape[0]):
        out[k] = normal_from_key(rng_key(seed, step, pids[k]), stream)
    return out

