"""Matplotlib figures as PNG bytes (Agg backend, no display), for writers that write atomically,
and the few layout helpers every cellbench figure shares: long titles wrapped to the width they
have, one legend outside the axes (never over the data), integer and symmetric-log ticks that
stay readable."""

from __future__ import annotations

import io
import re

import numpy as np

BREAK_AFTER = "_+:,/"
"""Inside a word longer than a line, :func:`wrap_text` breaks after one of these characters."""


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (tight bounding box); the figure is closed."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def wrap_text(text: str, width_chars: int) -> str:
    """``text`` in lines of at most ``width_chars`` characters where it can be broken: at spaces,
    and inside a longer word (a dataset name such as ``BF-C2DL-HSC_02_BF-C2DL-HSC_01_train_on...``)
    after one of :data:`BREAK_AFTER`. A piece with no break point longer than a line stays whole."""
    pieces: list[tuple[str, str]] = []  # (piece, what joins it to the next: " " or "")
    for word in text.split():
        parts = re.findall(rf"[^{re.escape(BREAK_AFTER)}]*[{re.escape(BREAK_AFTER)}]?", word) if len(word) > width_chars else [word]
        parts = [p for p in parts if p]
        pieces += [(p, "") for p in parts[:-1]] + [(parts[-1], " ")]
    lines, line, sep = [], "", ""
    for piece, after in pieces:
        if line and len(line) + len(sep) + len(piece) > width_chars:
            lines.append(line)
            line, sep = piece, after
        else:
            line, sep = line + sep + piece if line else piece, after
    return "\n".join(lines + [line]) if line else ""


def wrap_to_width(fig, text_artist, width_px: float | None = None) -> None:
    """Re-wrap a title (``ax.title``, a suptitle, a label) with :func:`wrap_text` until its
    rendered width fits ``width_px`` (default: 98 % of the figure's width)."""
    renderer = fig.canvas.get_renderer()
    limit = 0.98 * fig.bbox.width if width_px is None else width_px
    text = " ".join(text_artist.get_text().split())
    chars = len(text)
    while text_artist.get_window_extent(renderer).width > limit and chars > 12:
        chars = int(chars * 0.85)
        text_artist.set_text(wrap_text(text, chars))


def figure_legend(fig, axes, loc: str = "outside lower center", ncols: int | None = None, **kwargs):
    """One legend for the figure, outside every axes (the figure needs ``layout="constrained"``):
    each label of ``axes`` once, in order of appearance. None when nothing is labelled."""
    handles: dict = {}
    for ax in np.atleast_1d(axes).flat:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    if not handles:
        return None
    ncols = ncols or min(len(handles), 4)
    return fig.legend(list(handles.values()), list(handles), loc=loc, ncols=ncols, fontsize=8, frameon=False, **kwargs)


def integer_ticks(axis) -> None:
    """Whole-number ticks only (epochs, frames) on an ``ax.xaxis`` or ``ax.yaxis``."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def symlog_ticks(ax, linthresh: float) -> None:
    """Readable y ticks on a symmetric-log axis: 0 and the powers of ten at or above
    ``linthresh`` in magnitude (ticks inside the linear band crowd around 0 and overlap)."""
    lo, hi = ax.get_ylim()
    top = max(abs(lo), abs(hi), linthresh)
    decades = 10.0 ** np.arange(np.ceil(np.log10(linthresh)), np.floor(np.log10(top)) + 1)
    ticks = sorted({0.0, *decades, *(-decades)})
    ax.set_yticks([t for t in ticks if lo <= t <= hi])
    ax.set_ylim(lo, hi)
