"""Where a learned model trains and predicts: ``'auto'``, ``'cpu'`` or ``'cuda'`` (``'cuda:N'``).

Every tensor a model sees is made on the CPU by :func:`cellbench.inputs.batching.build_frames`
and moved with :meth:`~cellbench.inputs.batching.Batch.to` once per batch; the network's own
tensors follow its parameters. Results come back to the CPU as numpy arrays. On a GPU the numbers
can differ from the CPU's in the last bits (other kernels, other summation order): the run records
the device it used (``metrics.json``: ``training.device``).
"""

from __future__ import annotations

from cellbench.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def check_device(name: str) -> str:
    """``name`` if it is one of :data:`DEVICES` or ``'cuda:N'``; a ConfigError naming --device otherwise."""
    base, _, index = str(name).partition(":")
    if base not in DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise ConfigError(f"--device {name!r}: choose auto, cpu, cuda or cuda:N")
    return str(name)


def resolve_device(name: str):
    """The ``torch.device`` for ``name``: ``'auto'`` is CUDA when a GPU is visible, else the CPU.

    Raises
    ------
    ConfigError : ``'cuda'`` was asked for and torch sees no GPU (the message says what torch sees).
    """
    import torch

    name = check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: torch {torch.__version__} sees no CUDA GPU "
                              f"(torch.cuda.is_available() is False); use --device cpu or auto")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return torch.device(name)
