"""dedup reads its input twice - the audit, then the rows it keeps - and refuses an input file that
changed in between (a producer still writing it): the output would otherwise hold other rows than
the ones audited, silently (20 000 kept reported, 10 000 written, exit 0). In process, through the
Python API: the progress reporter changes the file at a chosen point of the run."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from epochplan.auditing import dedup_to_folder
from epochplan.auditing.deduplicate import Unchanged, dedup_to_file
from epochplan.errors import InputError

from .helpers import leftovers, texts


class ChangesTheInput:
    """A progress reporter that rewrites `path` (half its rows, other texts) when the phase named
    `when` starts ('writing …': after the audit), or at the first rows counted (`when` None:
    during the audit)."""

    def __init__(self, path: Path, when: str | None) -> None:
        self.path, self.when, self.done = path, when, False

    def _change(self) -> None:
        if not self.done:
            self.done = True
            pl.DataFrame({"text": texts(10_000, prefix="other")}).write_parquet(self.path)

    def __call__(self, rows: int) -> None:
        if self.when is None:
            self._change()

    def phase(self, name: str) -> None:
        if self.when is not None and name.startswith(self.when):
            self._change()


@pytest.mark.parametrize("when", ["writing", None], ids=["after the audit", "during the audit"])
def test_an_input_rewritten_while_dedup_reads_it_is_refused_and_nothing_written(tmp_path, when):
    data = tmp_path / "in.parquet"
    pl.DataFrame({"text": texts(20_000)}).write_parquet(data)
    out = tmp_path / "out.parquet"
    out.write_text("OLD")
    with pytest.raises(InputError, match=r"in\.parquet: changed while it was read \(size/modification time\); run again"):
        dedup_to_file(str(data), out, progress=ChangesTheInput(data, when), level="exact")
    assert out.read_text() == "OLD" and leftovers(tmp_path) == []


def test_a_shard_rewritten_while_dedup_reads_it_is_refused_and_no_shard_moved_in(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(3):
        pl.DataFrame({"text": texts(2_000, prefix=f"shard {k}")}).write_parquet(folder / f"part-{k}.parquet")
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"part-1\.parquet: changed while it was read"):
        dedup_to_folder(str(folder), out, progress=ChangesTheInput(folder / "part-1.parquet", "writing"), level="exact")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"], "a shard folder or temporary folder was left"


class DeletesTheInput(ChangesTheInput):
    def _change(self) -> None:
        if not self.done:
            self.done = True
            self.path.unlink()


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_a_shard_deleted_after_the_audit_is_refused_not_an_internal_error(tmp_path, suffix):
    """`dedup -o DIR/` counted a shard's rows again before checking it: a JSON lines or CSV file
    deleted since the audit was a FileNotFoundError (exit 3) there."""
    folder = tmp_path / "in"
    folder.mkdir()
    frame = pl.DataFrame({"text": texts(500)})
    path = folder / f"a.{suffix}"
    {"jsonl": frame.write_ndjson, "csv": frame.write_csv, "parquet": frame.write_parquet}[suffix](path)
    with pytest.raises(InputError, match=r"a\.\w+: changed while it was read"):
        dedup_to_folder(str(folder), tmp_path / "out", progress=DeletesTheInput(path, "writing"), level="exact")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_an_unchanged_input_is_written_whole(tmp_path):
    data = tmp_path / "in.parquet"
    pl.DataFrame({"text": texts(5_000) + texts(1_000)}).write_parquet(data)
    summary = dedup_to_file(str(data), tmp_path / "out.parquet", level="exact")
    assert summary.kept == 5_000 == pl.read_parquet(tmp_path / "out.parquet").height


def test_fewer_rows_read_back_than_audited_is_refused():
    # Files whose size, time and inode all stayed, yet rows that did not (a file system with a
    # coarse clock): the rows read back are counted against the audit's.
    with pytest.raises(InputError, match=r"data/: changed while it was read \(20,000 rows audited, 10,000 read back"):
        Unchanged((), rows=20_000, description="data/").check(rows_read=10_000)
