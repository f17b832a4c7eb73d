"""`gitreg.storage.files.atomic_write`: readers and concurrent writers see a whole
file, old or new, and nothing is left behind."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import pytest

from gitreg.storage.files import atomic_write


def _writer(path: str, mark: int, rounds: int) -> None:
    for _ in range(rounds):
        atomic_write(path, bytes([mark]) * 100_000)


def test_concurrent_writers_and_a_reader_only_ever_see_whole_files(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "config"
    atomic_write(target, b"\x00" * 100_000)
    ctx = mp.get_context("fork")
    writers = [ctx.Process(target=_writer, args=(str(target), mark, 150)) for mark in (1, 2)]
    for w in writers:
        w.start()
    seen = set()
    while any(w.is_alive() for w in writers):
        data = target.read_bytes()
        assert len(data) == 100_000 and len(set(data)) == 1  # never a mix, never short
        seen.add(data[0])
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert sorted(p.name for p in folder.iterdir()) == ["config"]  # no temporary file left
    assert seen - {0} and target.read_bytes()[0] in (1, 2)


def test_the_mode_is_a_new_file_s_and_a_failed_write_leaves_the_old_bytes(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "export.json"
    old = os.umask(0o027)
    try:
        atomic_write(target, b"{}")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o640
    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"{}" and [p.name for p in folder.iterdir()] == ["export.json"]
