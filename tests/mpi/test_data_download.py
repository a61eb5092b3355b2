"""Under MPI one process per machine downloads a data set; the others wait on its lock, then read
the files it wrote."""
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pytest

from distgrad.data import download
from test_data_datasets import SIZES, Tiny, _arrays, _serve


@pytest.mark.mpi
def test_one_process_downloads_and_every_rank_loads(world, monkeypatch):
    top = world.bcast_obj(tempfile.mkdtemp(prefix="distgrad-dl-") if world.rank == 0 else None)
    if world.rank == 0:
        mirror = _serve(Path(top) / "mirror")
    mirror = world.bcast_obj(mirror if world.rank == 0 else None)
    opened = []

    def opener(url, timeout):
        opened.append(url)
        return urllib.request.urlopen(url, timeout=timeout)

    monkeypatch.setattr(download, "_urlopen", opener)
    monkeypatch.setattr(Tiny, "mirrors", (mirror,))
    monkeypatch.setattr(Tiny, "system_dirs", ())
    monkeypatch.setenv("HOME", top)
    monkeypatch.delenv("DISTGRAD_DATA", raising=False)
    try:
        ds = Tiny(root=Path(top) / "root")  # every rank at once, on one machine
        assert len(ds) == SIZES["train"] and ds.targets.tolist() == _arrays("train")[1].tolist()
        counts = world.allgather_obj(len(opened))
        assert sorted(counts)[-1] == 2 and sum(counts) == 2, counts  # one downloader
    finally:
        world.barrier()
        if world.rank == 0:
            shutil.rmtree(top, ignore_errors=True)
