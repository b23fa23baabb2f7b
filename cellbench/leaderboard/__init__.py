"""Display only: reads result files and writes tables, pages, PNGs and the leakage audit."""
