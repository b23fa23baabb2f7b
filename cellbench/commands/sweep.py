"""``cellbench sweep`` and ``cellbench leaderboard``: grids of runs on Dask, and the tables they feed."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cellbench.leaderboard.audit import displacement_stats, leak_audit
from cellbench.leaderboard.tables import write_leaderboards
from cellbench.leaderboard.pages import write_pages
from cellbench.leaderboard.readme import write_readme
from cellbench.data.readers import read_tracks
from cellbench.commands.console import console
from cellbench.commands.data import DATA_DIR_HELP
from cellbench.commands.compare import PLUGIN_HELP
from cellbench.commands.options import DEVICE_HELP, device_option
from cellbench.sweep import ResultStore, load_sweep


def sweep(
    config: Annotated[Path, typer.Argument(help="Sweep TOML: [sweep] models, datasets, seeds, train_fractions; [models.NAME] option grids.")],
    results: Annotated[Path, typer.Option(help="Results folder: one JSON per run, named by its hash.")] = Path("results"),
    scheduler: Annotated[Optional[str], typer.Option(help="Address of an existing Dask scheduler: tls://HOST:PORT with --tls-ca-file/--tls-cert/--tls-key (tcp:// is unauthenticated: anyone reaching the port runs code on the workers); default: a LocalCluster on this machine.")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="LocalCluster worker processes (default: one per core).")] = None,
    tls_ca_file: Annotated[Optional[Path], typer.Option(help="With tls://: CA certificate.")] = None,
    tls_cert: Annotated[Optional[Path], typer.Option(help="With tls://: client certificate.")] = None,
    tls_key: Annotated[Optional[Path], typer.Option(help="With tls://: client key.")] = None,
    retry_failed: Annotated[bool, typer.Option(help="Run again the runs recorded as failed.")] = True,
    device: Annotated[str, typer.Option(callback=device_option, help=DEVICE_HELP + " Not part of a run's key: "
                                        "results from any device count as the same run.")] = "cpu",
    plugin: Annotated[Optional[list[str]], typer.Option(help=PLUGIN_HELP + " Added to the TOML's plugins = [...]; "
                      "every Dask worker imports them too (it must see the same module or file path).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help=DATA_DIR_HELP)] = None,
):
    """Run every model x dataset x seed x training fraction x option combination of CONFIG
    that has no result yet; finished runs are skipped, failures are recorded and the sweep goes on."""
    from cellbench.sweep.runner import run_sweep

    from cellbench.sweep.security import sweep_security

    security = sweep_security(scheduler, tls_ca_file, tls_cert, tls_key)
    cfg = load_sweep(config, data_dir, plugins=tuple(plugin or ()))
    with runs_progress() as progress:
        summary = run_sweep(cfg, results, scheduler=scheduler, n_workers=workers, security=security, progress=progress, retry_failed=retry_failed,
                            device=device)
    for line in summary.damaged:
        typer.echo(f"warning: damaged result file (its run, if in this sweep, was run again): {line}", err=True)
    console.print(f"sweep {cfg.name}: {summary.done} done, {summary.skipped} skipped (already in {results}), {summary.failed} failed")
    for line in summary.errors:
        console.print(f"  failed: {line}")
    if summary.failed:
        raise typer.Exit(code=1)


@contextmanager
def runs_progress():
    """A progress bar over runs; yields the ``(n_total, n_done_already) -> advance()`` factory that
    :func:`cellbench.sweep.runner.run_sweep` takes."""
    with Progress(TextColumn("runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        def progress(total, already):
            task = bar.add_task("runs", total=total, completed=already)
            return lambda: bar.advance(task)

        yield progress


def leaderboard(
    results: Annotated[Optional[Path], typer.Argument(help="Results folder written by `cellbench sweep` (not with --check).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the tables (Markdown, CSV) and PNG charts.")] = Path("leaderboards"),
    readme: Annotated[Optional[Path], typer.Option(help="Also rewrite the generated 'what they say' paragraph of this "
                                                      "README from the same results.")] = None,
    check: Annotated[bool, typer.Option(help="Write nothing: name every page in --out whose tables were made by "
                                             "other code than this checkout's (exit 1 if any).")] = False,
    title: Annotated[str, typer.Option(help="Title above each table.")] = "cellbench leaderboard",
    audit: Annotated[Optional[list[Path]], typer.Option(help="Real tracks file(s) for the leakage audit in bf-c2dl-hsc.md; repeatable.")] = None,
    skip_damaged: Annotated[bool, typer.Option(help="Write the tables from the whole result files even if some are damaged (each is still named).")] = False,
):
    """Write one table per dataset (mean ± 95% CI over seeds, best per column in bold) from RESULTS,
    and the pages synthetic.md and bf-c2dl-hsc.md. Every damaged result file (truncated, not a
    record, foreign, edited after writing) is named; any stops the command unless --skip-damaged.
    With --check, only compare the code version under every page in --out with the current code's."""
    if check:
        return check_pages(out)
    if results is None:
        raise typer.BadParameter("give the results folder written by `cellbench sweep` (or --check)", param_hint="RESULTS")
    if not results.is_dir():
        raise typer.BadParameter(f"{results}: no such results folder", param_hint="RESULTS")
    records, damaged = ResultStore(results).scan()
    for path, problem in damaged.items():
        typer.echo(f"{'warning' if skip_damaged else 'error'}: {path}: {problem}", err=True)
    if damaged and not skip_damaged:
        typer.echo(f"error: {len(damaged)} damaged result file(s) in {results}: rerun `cellbench sweep` (it reruns "
                   "them) or pass --skip-damaged", err=True)
        raise typer.Exit(code=2)
    if not any(r.get("status") == "done" for r in records):
        typer.echo(f"error: {results}: no finished run: nothing written", err=True)
        raise typer.Exit(code=1)
    audited = [(t.meta.dataset, leak_audit(t), displacement_stats(t)) for t in (read_tracks(p) for p in audit or [])]
    written = write_leaderboards(records, out, title) + write_pages(records, out, audited)
    if readme is not None and write_readme(records, readme):
        written.append(readme)
    if not written:
        console.print(f"no finished run in {results}: nothing written")
        raise typer.Exit(code=1)
    for p in written:
        console.print(f"wrote {p}")


def check_pages(folder: Path) -> None:
    """``leaderboard --check``: print the stale pages of ``folder`` with their versions; exit 1 if any."""
    from cellbench.leaderboard.check import check_folder

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder}: no such leaderboard folder", param_hint="--out")
    current, stale = check_folder(folder)
    n = len(list(folder.glob("*.md")))
    for page in stale:
        console.print(f"stale: {page.path} (code {', '.join(page.versions) or 'not named'})")
    if stale:
        console.print(f"{len(stale)} of {n} pages in {folder} were made by other code than the current code "
                      f"{current}: regenerate them (bash leaderboards/regenerate.sh)")
        raise typer.Exit(code=1)
    console.print(f"{n} page(s) in {folder}: every table made by the current code {current}")
