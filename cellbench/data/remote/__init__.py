"""Public datasets: a registry (``registry.toml``), resumable verified downloads, a trust-on-first-use
lock file, safe extraction of CTC tracking ground truth, and its conversion to the canonical parquet."""

from cellbench.data.remote.download import FetchError
from cellbench.data.remote.fetch import FetchResult, fetch_dataset, parquet_path
from cellbench.data.remote.registry import RemoteDataset, load_registry

__all__ = ["FetchError", "FetchResult", "RemoteDataset", "fetch_dataset", "load_registry", "parquet_path"]
