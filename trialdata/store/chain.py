"""The SHA-256 chain over a batch of audit entries, computed beside the writes.

Each hash depends on the one before, so a chain is one sequential loop over the
entries. For a large batch the loop runs in a separate Python process, so that it
runs on another core while the caller writes the record versions: a thread of the
caller writes the entries' offsets and text into the worker's standard input (so
that the copy, too, runs beside the caller), the worker (standard library only:
:data:`_WORKER`) writes the 32-byte digests to its standard output, and the caller
reads them when it needs them. The worker touches nothing but its two pipes (no
database, no file). If it cannot be started or fails, the caller computes the chain
itself; the result is the same either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import subprocess
import sys
import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = ["ChainJob", "chain_digests"]

_DIGEST = 32

#: Batches smaller than this are hashed in the calling process (a worker costs more).
WORKER_MIN_ENTRIES = 50_000


def chain_digests(previous: bytes, data: bytes, offsets: list[int]) -> bytes:
    """Return the chained SHA-256 digests of consecutive entries of one buffer.

    Parameters
    ----------
    previous : bytes
        Digest before the first entry (32 bytes).
    data : bytes
        The entries' UTF-8 text, one after the other.
    offsets : list of int
        Start of each entry in ``data`` followed by the end of the last one.

    Returns
    -------
    bytes
        ``digest[i] = sha256(digest[i-1] + entry[i])``, 32 bytes each, concatenated.
    """
    sha = hashlib.sha256
    digest = previous
    digests: list[bytes] = []
    append = digests.append
    for start, end in itertools.pairwise(offsets):
        digest = sha(digest + data[start:end]).digest()
        append(digest)
    return b"".join(digests)


def _buffer(texts: pa.Array | pa.ChunkedArray) -> tuple[memoryview, np.ndarray]:
    """Return the UTF-8 data of a string array and the offsets of its elements."""
    strings = texts.cast(pa.large_string())
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    _, offsets_buffer, data_buffer = strings.buffers()
    n = len(strings)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        strings.offset : strings.offset + n + 1
    ]
    if data_buffer is None:
        return memoryview(b""), np.zeros(n + 1, dtype=np.int64)
    data = memoryview(data_buffer)[int(offsets[0]) : int(offsets[-1])]
    return data, offsets - offsets[0]


def _hex(digests: bytes) -> list[str]:
    """Return 32-byte digests as hexadecimal strings."""
    text = digests.hex()
    width = 2 * _DIGEST
    return [text[i : i + width] for i in range(0, len(text), width)]


#: The worker: reads the entries as Arrow string views (a 16-byte view per entry: its
#: length, then the bytes inline when at most 12, else the data buffer and offset)
#: and the data buffers from stdin, writes the digests to stdout.
_WORKER = """
import hashlib, sys
n, previous = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
sizes = [int(a) for a in sys.argv[3:]]
stdin = sys.stdin.buffer
views = stdin.read(16 * n)
buffers = [stdin.read(size) for size in sizes]
if len(views) != 16 * n or [len(b) for b in buffers] != sizes:
    sys.exit(3)
words = memoryview(views).cast("i").tolist()
sha = hashlib.sha256
digest = previous
out = []
for i in range(0, 4 * n, 4):
    length = words[i]
    if length <= 12:
        entry = views[4 * i + 4 : 4 * i + 4 + length]
    else:
        start = words[i + 3]
        entry = buffers[words[i + 2]][start : start + length]
    digest = sha(digest + entry).digest()
    out.append(digest)
sys.stdout.buffer.write(b"".join(out))
"""


def _string_views(texts: pa.Array | pa.ChunkedArray) -> pa.StringViewArray:
    """Return the entries as one Arrow string-view array (no copy when they are)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if texts.type != pa.string_view():
        texts = texts.cast(pa.string_view())
    assert isinstance(texts, pa.StringViewArray)
    return texts


def _view_parts(views: pa.StringViewArray) -> list[memoryview]:
    """Return the buffers the worker reads: the entries' views, then the data."""
    buffers = views.buffers()
    start = 16 * views.offset
    parts = [memoryview(buffers[1])[start : start + 16 * len(views)]]
    parts += [memoryview(b) for b in buffers[2:]]
    return parts


def _feed(fd: int, parts: tuple[bytes | memoryview, ...]) -> None:
    """Write buffers to a pipe, then close it.

    Run in a thread: ``os.write`` releases the GIL, so the copy into the pipe runs
    beside the caller's work.
    """
    try:
        for part in parts:
            view = memoryview(part).cast("B")
            while len(view):
                view = view[os.write(fd, view) :]
    except OSError:
        pass  # the worker died; _collect sees its exit status
    finally:
        os.close(fd)


@dataclass
class ChainJob:
    """The hash chain of one batch of entries, being computed.

    Attributes
    ----------
    previous : bytes
        Digest before the batch.
    n : int
        Entries in the batch.
    """

    previous: bytes
    n: int
    _texts: pa.Array | pa.ChunkedArray
    _worker: subprocess.Popen[bytes] | None = None
    _feeder: threading.Thread | None = None
    _digests: bytes | None = None

    @classmethod
    def start(cls, previous: str, texts: pa.Array | pa.ChunkedArray) -> ChainJob:
        """Start hashing a batch; large batches are hashed by a worker process.

        Parameters
        ----------
        previous : str
            Hash before the batch, hexadecimal.
        texts : pyarrow.Array
            Canonical entries (:func:`trialdata.store.audit.entry_text`), in order,
            without missing values; string views (as Polars exports them) are
            passed to the worker without a copy.

        Returns
        -------
        ChainJob
            Call :meth:`result` for the hashes.
        """
        job = cls(bytes.fromhex(previous), len(texts), texts)
        if job.n >= WORKER_MIN_ENTRIES and texts.null_count == 0:
            job._spawn()
        return job

    def _spawn(self) -> None:
        """Start the worker and feed it from a thread; on failure the caller hashes.

        The entries go to the worker through a pipe written by a thread, so this
        returns at once and the copy runs while the caller writes record versions.
        """
        views = _string_views(self._texts)
        parts = _view_parts(views)
        arguments = [
            str(self.n),
            self.previous.hex(),
            *(str(len(b)) for b in parts[1:]),
        ]
        try:
            worker = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WORKER, *arguments],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        assert worker.stdin is not None
        # the thread owns the pipe's descriptor from here on and closes it
        fd = os.dup(worker.stdin.fileno())
        worker.stdin.close()
        feeder = threading.Thread(target=_feed, args=(fd, (*parts,)), daemon=True)
        feeder.start()
        self._texts = views  # keeps the buffers alive while the thread writes them
        self._worker, self._feeder = worker, feeder

    def _collect(self) -> bytes | None:
        """Wait for the worker and return its digests (None when it failed)."""
        worker, feeder = self._worker, self._feeder
        if worker is None or feeder is None:
            return None
        self._worker, self._feeder = None, None
        assert worker.stdout is not None
        with worker.stdout:
            digests = worker.stdout.read()
        feeder.join()
        if worker.wait() != 0 or len(digests) != self.n * _DIGEST:
            return None
        return digests

    def __del__(self) -> None:
        """Reap the worker when the batch was abandoned (e.g. on a rollback)."""
        with contextlib.suppress(Exception):
            self._collect()

    def result(self) -> list[str]:
        """Return the hashes of the batch, hexadecimal, in order.

        Returns
        -------
        list of str
            ``hash[i] = sha256(bytes(hash[i-1]) + utf8(entry[i]))``.
        """
        if self._digests is None:
            digests = self._collect()
            if digests is None:
                data, offsets = _buffer(self._texts)
                digests = chain_digests(self.previous, bytes(data), offsets.tolist())
            self._digests = digests
            self._texts = pa.array([], type=pa.string())
        return _hex(self._digests)
