"""The SHA-256 chain over a batch of audit entries, computed beside the writes.

Each hash depends on the one before, so a chain is one sequential loop over the
entries. For a large batch the loop runs in a separate Python process, so that it
runs on another core while the caller writes the record versions: the entries and
their offsets are put in an anonymous shared file (``memfd``), the worker (standard
library only: :data:`_WORKER`) writes the 32-byte digests at its end, and the caller
reads them when it needs them. The worker touches nothing but that file (no database,
no other file). If it cannot be started or fails, the caller computes the chain
itself; the result is the same either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import mmap
import os
import subprocess
import sys
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
    text = digests.hex().encode("ascii")
    n = len(digests) // _DIGEST
    array = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(2 * _DIGEST), n, [None, pa.py_buffer(text)]
    )
    out: list[str] = array.cast(pa.string()).to_pylist()
    return out


#: The worker: reads offsets and entries from the shared file, writes the digests.
_WORKER = """
import hashlib, itertools, mmap, os, sys
fd, n, size = (int(a) for a in sys.argv[1:4])
previous = bytes.fromhex(sys.argv[4])
m = mmap.mmap(fd, 0)
offsets = memoryview(m)[: 8 * (n + 1)].cast("q").tolist()
base = 8 * (n + 1)
data = m[base : base + size]
sha = hashlib.sha256
digest = previous
out = []
for start, end in itertools.pairwise(offsets):
    digest = sha(digest + data[start:end]).digest()
    out.append(digest)
m[base + size :] = b"".join(out)
m.flush()
"""


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
    _data: memoryview
    _offsets: np.ndarray
    _worker: subprocess.Popen[bytes] | None = None
    _shared: mmap.mmap | None = None
    _fd: int | None = None
    _digests: bytes | None = None

    @classmethod
    def start(cls, previous: str, texts: pa.Array | pa.ChunkedArray) -> ChainJob:
        """Start hashing a batch; large batches are hashed by a worker process.

        Parameters
        ----------
        previous : str
            Hash before the batch, hexadecimal.
        texts : pyarrow.Array
            Canonical entries (:func:`trialdata.store.audit.entry_text`), in order.

        Returns
        -------
        ChainJob
            Call :meth:`result` for the hashes.
        """
        data, offsets = _buffer(texts)
        job = cls(bytes.fromhex(previous), len(offsets) - 1, data, offsets)
        if job.n >= WORKER_MIN_ENTRIES and hasattr(os, "memfd_create"):
            job._spawn()
        return job

    def _spawn(self) -> None:
        """Start the worker; on any failure leave the job to the calling process."""
        head = self._offsets.astype(np.int64).tobytes()
        size = len(self._data)
        fd = os.memfd_create("trialdata-chain")
        arguments = [str(fd), str(self.n), str(size), self.previous.hex()]
        shared: mmap.mmap | None = None
        try:
            os.ftruncate(fd, len(head) + size + self.n * _DIGEST)
            shared = mmap.mmap(fd, 0)
            shared[: len(head)] = head
            shared[len(head) : len(head) + size] = self._data
            worker = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WORKER, *arguments],
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            if shared is not None:
                shared.close()
            os.close(fd)
            return
        self._worker, self._shared, self._fd = worker, shared, fd

    def _collect(self) -> bytes | None:
        """Wait for the worker and return its digests (None when it failed)."""
        if self._worker is None or self._shared is None or self._fd is None:
            return None
        digests = None
        if self._worker.wait() == 0:
            digests = bytes(self._shared[len(self._shared) - self.n * _DIGEST :])
        self._shared.close()
        os.close(self._fd)
        self._worker, self._shared, self._fd = None, None, None
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
                digests = chain_digests(
                    self.previous, bytes(self._data), self._offsets.tolist()
                )
            self._digests = digests
            self._data, self._offsets = memoryview(b""), self._offsets[:0]
        return _hex(self._digests)
