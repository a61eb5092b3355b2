"""Under MPI only local rank 0 of each node downloads a data set; the others wait, then read it."""
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pytest

from distgrad.data import download
from test_data_datasets import SIZES, Tiny, _arrays, _serve


@pytest.mark.mpi
def test_only_local_rank_0_downloads_and_every_rank_loads(world, monkeypatch):
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
        ds = Tiny(root=Path(top) / "root")  # one node here: local rank 0 is rank 0
        assert len(ds) == SIZES["train"] and ds.targets.tolist() == _arrays("train")[1].tolist()
        counts = world.allgather_obj(len(opened))
        assert counts[0] == 2 and all(c == 0 for c in counts[1:]), counts
    finally:
        world.barrier()
        if world.rank == 0:
            shutil.rmtree(top, ignore_errors=True)
