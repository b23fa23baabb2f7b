"""``cellbench.space``: the open plane and the periodic box, against brute force over images."""

import numpy as np
import numpy.testing as npt
import pytest

from cellbench import space


@pytest.mark.parametrize("side_um", [1.0, 60.0, 437.5])
def test_periodic_displacement_is_the_shortest_image(side_um):
    rng = np.random.default_rng(0)
    a = rng.uniform(-2 * side_um, 3 * side_um, (500, 2))
    b = rng.uniform(0, side_um, (500, 2))
    displacement, _ = space.periodic(side_um)
    d = displacement(a, b)
    # brute force: the shortest of the images a - b + side * (i, j), i, j in -4..4, per axis
    shifts = side_um * np.arange(-4, 5)
    raw = (a - b)[:, :, None] + shifts[None, None, :]
    best = np.take_along_axis(raw, np.abs(raw).argmin(axis=2)[:, :, None], axis=2)[:, :, 0]
    npt.assert_allclose(d, best, rtol=0, atol=1e-12 * side_um)  # rounding of d / side only
    assert (np.abs(d) <= side_um / 2 * (1 + 1e-12)).all()


def test_minimum_image_is_the_kernels_formula_bit_for_bit():
    # the numba kernels write d - L rint(d / L) inside their loops; space.py must agree exactly
    rng = np.random.default_rng(1)
    d = rng.uniform(-500, 500, (1000, 2))
    L = 123.4
    npt.assert_array_equal(space.minimum_image(d, L), d - L * np.rint(d / L))


def test_free_space_neither_wraps_nor_takes_images():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(-1e3, 1e3, (2, 50, 2))
    displacement, shift = space.free()
    npt.assert_array_equal(displacement(a, b), a - b)
    npt.assert_array_equal(shift(a, b), a + b)
    assert space.minimum_image(a, None) is a
    assert space.wrap(a, None) is a
    u = space.unwrap(a, np.ones((50, 2), np.int64), None)
    npt.assert_array_equal(u, a)
    assert u is not a


def test_from_box_picks_the_space():
    a, b = np.array([[9.5, 0.0]]), np.array([[0.5, 0.0]])
    npt.assert_array_equal(space.from_box(None)[0](a, b), [[9.0, 0.0]])
    npt.assert_array_equal(space.from_box(10.0)[0](a, b), [[-1.0, 0.0]])


def test_wrap_shift_and_unwrap_round_trip():
    rng = np.random.default_rng(3)
    L = 50.0
    x = rng.uniform(-200, 200, (300, 2))
    w = space.wrap(x, L)
    assert ((w >= 0) & (w < L)).all()
    image = np.floor(x / L).astype(np.int64)
    npt.assert_allclose(space.unwrap(w, image, L), x, rtol=0, atol=1e-12 * 200)
    _, shift = space.periodic(L)
    dx = rng.normal(0, 30, x.shape)
    npt.assert_array_equal(shift(w, dx), np.mod(w + dx, L))


def test_displacement_is_translation_invariant_and_antisymmetric():
    rng = np.random.default_rng(4)
    L = 80.0
    a, b = rng.uniform(0, L, (2, 200, 2))
    t = rng.uniform(-300, 300, (1, 2))
    displacement, shift = space.periodic(L)
    d = displacement(a, b)
    npt.assert_allclose(displacement(shift(a, t), shift(b, t)), d, rtol=0, atol=1e-9)
    npt.assert_allclose(displacement(b, a), -d, rtol=0, atol=1e-12)


@pytest.mark.parametrize("side_um", [0.0, -1.0, np.inf, np.nan])
def test_a_bad_box_is_refused(side_um):
    with pytest.raises(ValueError, match="periodic box side"):
        space.periodic(side_um)
