"""`cellbench leaderboard --check`: pages made by other code than the checkout's are named, exit non-zero."""

from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.leaderboard.check import check_folder, page_versions
from cellbench.sweep.store import code_version

LINE = "data sha256: abc; results hash: 123 (4 result files); code: {}; commit 1a2b; generated 2026-12-01\n"


def _page(folder, name, *versions):
    (folder / name).write_text("# a table\n\n| model |\n|---|\n| zero |\n\n" + LINE.format(", ".join(versions) or "-"))


def test_pages_of_other_code_are_stale(tmp_path):
    now = code_version()
    _page(tmp_path, "fresh.md", now)
    _page(tmp_path, "old.md", "0.1.0+src.000000000000")
    _page(tmp_path, "mixed.md", now, "0.1.0+src.111111111111")
    _page(tmp_path, "none.md")
    current, stale = check_folder(tmp_path)
    assert current == now
    assert [p.path.name for p in stale] == ["mixed.md", "none.md", "old.md"]
    assert page_versions(tmp_path / "mixed.md").versions == (now, "0.1.0+src.111111111111")


def test_cli_check_exits_non_zero_and_names_each_stale_page(tmp_path):
    _page(tmp_path, "fresh.md", code_version())
    ok = CliRunner().invoke(app, ["leaderboard", "--check", "--out", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "1 page" in ok.output and "current code" in ok.output
    _page(tmp_path, "old.md", "0.1.0+src.000000000000")
    bad = CliRunner().invoke(app, ["leaderboard", "--check", "--out", str(tmp_path)])
    assert bad.exit_code == 1
    assert "old.md" in bad.output and "0.1.0+src.000000000000" in bad.output and "fresh.md" not in bad.output
