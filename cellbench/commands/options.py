"""Option checks shared by the commands (typer callbacks that name the option)."""

from __future__ import annotations

import functools
import inspect
import math
import typing
from typing import Annotated, Callable, Optional

import typer


def positive(value: float | None, param: typer.CallbackParam = None) -> float | None:
    """Callback: a finite number > 0 (or unset)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        name = param.opts[0] if param is not None and param.opts else "value"
        raise typer.BadParameter(f"{value}: must be a finite number > 0", param_hint=name)
    return value


def device_option(value: str, param: typer.CallbackParam = None) -> str:
    """Callback: one of auto, cpu, cuda, cuda:N (checked without importing torch)."""
    from cellbench.train.device import check_device
    from cellbench.errors import ConfigError

    try:
        return check_device(value)
    except ConfigError as err:
        raise typer.BadParameter(str(err).partition(": ")[2], param_hint="--device") from None


DEVICE_HELP = ("Learned models: where to train and predict: 'auto' (a CUDA GPU when torch sees one, else the CPU), "
               "'cpu', 'cuda' or 'cuda:N'. The run records the device it used.")


# -- reading tracks: the options of every command that reads a tracks file -------------------

PixelUm = Annotated[Optional[float], typer.Option(callback=positive, help="Pixel size in um, for positions in pixels.")]
PositionUnits = Annotated[Optional[str], typer.Option(
    help="Unit of the positions when the file states none: px (with --pixel-um), um, nm or mm.")]
FrameIntervalS = Annotated[Optional[float], typer.Option(
    callback=positive, help="Time between frames in s (sets t_s; turns a time_s column into frame indices).")]
Columns = Annotated[Optional[str], typer.Option(
    help="Columns of a CSV/parquet/geff table as role=COLUMN: track, frame (or time_s, in s), x, y, and optionally "
         "z, parent, radius; e.g. track=TRACK,frame=t,x=x,y=y. With --format, renames single columns.")]
TracksFormat = Annotated[Optional[str], typer.Option(
    "--format", help="Tracks format: trackmate, napari, ultrack, laptrack, btrack, generic (--columns) or geff; "
                     "default: by suffix and header (a warning names the format found).")]
DropZ = Annotated[bool, typer.Option(help="Project positions onto the x-y plane when the z column varies "
                                          "(refused otherwise; a constant z is dropped anyway).")]
_READ_PARAMS = {"pixel_um": (PixelUm, None), "position_units": (PositionUnits, None),
                "frame_interval_s": (FrameIntervalS, None), "columns": (Columns, None),
                "tracks_format": (TracksFormat, None), "drop_z": (DropZ, False)}


def read_options(pixel_um: float | None = None, position_units: str | None = None,
                 frame_interval_s: float | None = None, columns: str | None = None,
                 tracks_format: str | None = None, drop_z: bool = False):
    """The :class:`~cellbench.data.readers.options.ReadOptions` of the command-line values (a ConfigError names
    the option that is wrong)."""
    from cellbench.data.readers.options import ReadOptions, parse_columns

    return ReadOptions(pixel_um, position_units, frame_interval_s, parse_columns(columns), tracks_format, drop_z)


def with_read_options(command: Callable) -> Callable:
    """Give a typer command the tracks-reading options (:data:`PixelUm`, :data:`PositionUnits`,
    :data:`FrameIntervalS`, :data:`Columns`, :data:`TracksFormat`, :data:`DropZ`).

    ``command`` declares a parameter ``read: ReadOptions | None = None`` (``ReadOptions`` may be
    imported under ``TYPE_CHECKING`` only); typer sees the six options in its place, and
    ``command`` receives them as one ``ReadOptions`` in ``read``.
    """
    from cellbench.data.readers.options import ReadOptions

    signature = inspect.signature(command)
    if "read" not in signature.parameters:
        raise TypeError(f"{command.__name__} has no parameter 'read' for the read options")
    hints = typing.get_type_hints(command, localns={"ReadOptions": ReadOptions}, include_extras=True)
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()
              if p.name != "read"]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=hint, default=default)
               for name, (hint, default) in _READ_PARAMS.items()]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        values = {name: kwargs.pop(name, default) for name, (_, default) in _READ_PARAMS.items()}
        return command(*args, read=read_options(**values), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # typer reads the signature above, not the command's own
    return wrapper
