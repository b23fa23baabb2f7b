"""The installed package version, importable from every layer without importing the package facade."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cellbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
