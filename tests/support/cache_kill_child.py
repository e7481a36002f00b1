"""Child process for the embedding-cache kill -9 test: stores batches of vectors until killed.

Usage: ``python cache_kill_child.py CACHE_DIR LOG BATCH``: each round stores ``BATCH`` new
vectors in one :meth:`EmbeddingCache.put_many`; after it returns (the write is
*acknowledged*), the child appends ``a <round>`` to LOG with one unbuffered ``os.write``. The
parent counts acknowledged rounds against the rows that reached the SQLite file.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from capabilities import EmbeddingCache


def main(cache_dir: str, log: str, batch: str) -> None:
    n = int(batch)
    cache = EmbeddingCache(cache_dir)
    rng = np.random.default_rng(0)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for r in range(1_000_000):
        keys = [(r * n + i).to_bytes(16, "big") for i in range(n)][::-1]  # not in key order
        cache.put_many("kill-test", keys, rng.standard_normal((n, 384)).astype(np.float32))
        os.write(fd, f"a {r}\n".encode())


if __name__ == "__main__":
    main(*sys.argv[1:])
