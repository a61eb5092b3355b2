"""Writing files so that readers see the old file or the whole new one, never a part.

Every file distgrad writes whole (IDX data, checkpoints, traces, plots, saved models,
``distgrad.save``) goes through ``write_atomic``: a temporary file in the same directory, fsync,
rename, fsync of the directory. A download streams from the network instead
(``data/download.py``): it keeps its own temporary file, so the bytes can be verified before the
same rename puts them in place.
"""
import os
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path, write):
    """Create or replace ``path`` with what ``write(binary_file)`` writes.

    The file gets the usual permissions (0666 less the umask), not ``mkstemp``'s 0600, so data
    sets, checkpoints and traces in shared directories stay readable by others. A failure (or a
    kill) midway leaves ``path`` as it was and no temporary file behind (except after a kill).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
