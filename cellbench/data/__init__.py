"""The data layer: the :class:`~cellbench.data.tracks.Tracks` table, readers, targets, splits and datasets."""
