"""The cellbench error family: library code raises these, the CLI prints them without a traceback."""


class CellbenchError(Exception):
    """Base class of every error that cellbench reports to a user."""


class TracksFormatError(CellbenchError):
    """A tracks file or table is malformed; the message names the file, row and column."""


class ConfigError(CellbenchError):
    """An option or configuration value is invalid; the message names the option."""


class FitError(CellbenchError):
    """A tracks table cannot be fitted by a simulator preset (too short, too few cells, no frame
    interval); the message names the file."""
