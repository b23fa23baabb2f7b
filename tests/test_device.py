"""--device: the device path runs on the CPU here; a CUDA test runs where torch sees a GPU."""

import numpy as np
import pytest
import torch

from cellbench.errors import ConfigError
from cellbench.train.device import check_device, resolve_device
from cellbench.train.loop import TrainConfig

from dataclasses import fields

from cellbench.data.dataset import build_dataset
from cellbench.inputs.batching import Batch, TargetScaler, build_frames, collate
from cellbench.train.build import build
from tests.helpers import random_walk_tracks


def _data():
    return build_dataset([random_walk_tracks(n_tracks=10, n_frames=24, seed=2, box_um=40.0)])


def test_device_names_are_checked():
    for ok in ("auto", "cpu", "cuda", "cuda:1"):
        assert check_device(ok) == ok
    for bad in ("gpu", "cuda:x", "cpu:0", ""):
        with pytest.raises(ConfigError, match="--device"):
            check_device(bad)
    with pytest.raises(ConfigError, match="--device"):
        TrainConfig(device="tpu")


def test_auto_is_cpu_without_a_gpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="sees no CUDA GPU"):
        resolve_device("cuda")


def test_batch_to_moves_every_tensor():
    data = _data()
    frames = build_frames(data, 12.0, TargetScaler.fit(data))[0]
    batch = collate(frames[:3], [0, 1, 2])
    assert batch.to("cpu") is batch
    moved = batch.to("meta")  # a device without storage: shows which fields move
    for f in fields(Batch):
        value = getattr(moved, f.name)
        if isinstance(value, torch.Tensor):
            assert value.device.type == "meta", f.name
        else:
            assert value is getattr(batch, f.name)


@pytest.mark.parametrize("name", ["transformer", "pairforce"])
def test_device_path_on_cpu_gives_the_default_numbers(name):
    data = _data()
    a = build(name, train={"epochs": 2}).fit(data, seed=1)
    b = build(name, train={"epochs": 2, "device": "auto" if not torch.cuda.is_available() else "cpu"}).fit(data, seed=1)
    np.testing.assert_array_equal(a.predict(data)[0], b.predict(data)[0])
    assert next(b.net.parameters()).device.type == "cpu"
    assert all(v.device.type == "cpu" for v in b.fit_result.best_state.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
@pytest.mark.parametrize("name", ["physattn", "gat", "egnn", "pairforce"])
def test_cuda_trains_and_predicts_like_the_cpu(name):
    data = _data()
    cpu = build(name, train={"epochs": 2, "device": "cpu"}).fit(data, seed=1).predict(data)[0]
    gpu_model = build(name, train={"epochs": 2, "device": "cuda"}).fit(data, seed=1)
    assert next(gpu_model.net.parameters()).device.type == "cuda"
    np.testing.assert_allclose(gpu_model.predict(data)[0], cpu, rtol=1e-3, atol=1e-4)


def test_cli_refuses_an_unknown_device_before_any_work():
    from typer.testing import CliRunner

    from cellbench.cli import app

    res = CliRunner().invoke(app, ["run", "--model", "transformer", "--device", "gpu"])
    assert res.exit_code == 2 and "--device" in res.output and "cuda:N" in res.output
