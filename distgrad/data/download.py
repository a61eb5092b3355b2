"""Fetch data set files from a list of mirrors and verify them, one process per machine at a time.

A file is streamed into a temporary file beside its destination, checked (size and digest of the
decompressed payload), then renamed into place, so a half-finished download is never found later.
"""
import contextlib
import fcntl
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass

from distgrad.data.idx import IDXError, decompress, parse_idx

TIMEOUT_S = 30
# Looked up at call time so tests can replace it (to simulate a timeout, say) without a network.
_urlopen = urllib.request.urlopen
# Everything a mirror can throw at us: URLError/HTTPError/timeouts are OSErrors, a dropped
# connection mid-body is an HTTPException, a malformed mirror URL is a ValueError.
_NETWORK_ERRORS = (OSError, http.client.HTTPException, ValueError)


@dataclass(frozen=True)
class Resource:
    """One file of a data set: its name and what its decompressed payload must be.

    ``sha256`` and ``size`` describe the decompressed IDX file (identical on every mirror, while
    the ``.gz`` bytes differ between re-compressions); ``gz_md5`` is the digest of the ``.gz`` as
    published, used only when the payload's sha256 is not known.
    """

    filename: str
    size: int
    sha256: str = None
    gz_md5: str = None


class DownloadError(OSError):
    """No mirror could deliver a file; ``failures`` holds ``(url, reason)`` for each one tried."""

    def __init__(self, message, failures):
        super().__init__(message)
        self.failures = failures


class ChecksumError(ValueError):
    """A file's size or digest is not the published one; the message names both values."""


def check_payload(payload, resource, name, raw=None, digest=True):
    """Raise ``ChecksumError`` unless ``payload`` (``name``'s decompressed bytes) is ``resource``.

    The size is always checked; with ``digest`` also the sha256 of the payload, or when that is
    not known the md5 of ``raw`` (the ``.gz`` bytes as stored).
    """
    if len(payload) != resource.size:
        raise ChecksumError(f"{name} holds {len(payload)} bytes once decompressed, expected "
                            f"{resource.size} for {resource.filename} (a truncated file, or a "
                            "different one under this name); delete it and download it again")
    if not digest:
        return
    if resource.sha256 is not None:
        kind, expected, actual = "sha256", resource.sha256, hashlib.sha256(payload).hexdigest()
    elif resource.gz_md5 is not None and raw is not None and raw[:2] == b"\x1f\x8b":
        kind, expected, actual = "md5 of the .gz", resource.gz_md5, hashlib.md5(raw).hexdigest()
    else:
        return
    if actual != expected:
        raise ChecksumError(f"checksum mismatch for {name}: expected {kind} {expected}, "
                            f"got {actual}")


def _reason(exc):
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return f"{type(exc).__name__}: {exc}"


def download(resource, mirrors, directory):
    """Download ``resource`` (as ``<filename>.gz``) into ``directory``, trying ``mirrors`` in turn.

    Returns the path of the verified file. A mirror that fails or serves wrong bytes (an HTML page,
    a checksum mismatch: the temporary file is deleted) is reported on stderr and the next one is
    tried. Raises ``ChecksumError`` if some mirror served wrong bytes and none served the right
    ones, ``DownloadError`` if none could be reached, ``OSError`` if ``directory`` is not writable.
    """
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, resource.filename + ".gz")
    failures, wrong_bytes = [], False
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + resource.filename + ".gz"
        print(f"distgrad: downloading {url} -> {target}", file=sys.stderr)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{resource.filename}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                try:
                    with _urlopen(url, timeout=TIMEOUT_S) as response:
                        shutil.copyfileobj(response, f, 1 << 20)
                except _NETWORK_ERRORS as exc:
                    failures.append((url, _reason(exc)))
                    print(f"distgrad:   failed: {_reason(exc)}", file=sys.stderr)
                    continue
                f.flush()
                os.fsync(f.fileno())
            with open(tmp, "rb") as f:
                raw = f.read()
            try:
                payload = decompress(raw, url, gzipped=True)
                check_payload(payload, resource, url, raw=raw)
                parse_idx(payload, url)
            except (IDXError, ChecksumError) as exc:
                failures.append((url, f"{exc} (download deleted)"))
                print(f"distgrad:   rejected: {exc} (download deleted)", file=sys.stderr)
                wrong_bytes = True
                continue
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared data directory from others
            os.replace(tmp, target)
            return target
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    summary = "\n".join(f"  {url}: {reason}" for url, reason in failures)
    if wrong_bytes:
        raise ChecksumError(f"no mirror served a valid {resource.filename}:\n{summary}")
    raise DownloadError(f"could not download {resource.filename} from any mirror:\n{summary}",
                        failures)


@contextlib.contextmanager
def download_lock(directory, what):
    """Hold an exclusive lock on ``directory`` for downloading ``what`` into it.

    Processes that need the same files take turns: the first downloads, the next finds the
    files once it holds the lock. No collective is involved, so a data set built by only some
    ranks, at different times, or under a user's own lock (Horovod's ``FileLock`` idiom) cannot
    deadlock; files appear by atomic rename, so a reader never sees half a file.
    """
    # The lock file lives in the temporary directory, named after the target, so the data
    # directory holds only data; opened read-only, it serves every user of the machine.
    key = hashlib.sha256(os.path.realpath(directory).encode()).hexdigest()[:16]
    fd = os.open(os.path.join(tempfile.gettempdir(), f"distgrad-download-{key}.lock"),
                 os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"distgrad: waiting for another process that is downloading {what} into "
                  f"{directory}", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
