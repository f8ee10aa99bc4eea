"""Reading input files: a closed file's buffer is freed at once, whatever the garbage collector."""

from __future__ import annotations

import gc
import gzip
import weakref

import pytest

from chatvault.ingest.files import Input


@pytest.mark.parametrize("compress", [False, True])
def test_a_closed_reader_is_freed_without_the_garbage_collector(tmp_path, compress):
    path = tmp_path / "usage.jsonl"
    data = b'{"a": 1}\n' * 1000
    path.write_bytes(gzip.compress(data) if compress else data)
    gc.disable()
    try:
        with Input(str(path), path, path.stat().st_size).open() as stream:
            assert b"".join(stream.lines()) == data
            assert stream.consumed == path.stat().st_size
            freed = weakref.ref(stream)
        del stream
        assert freed() is None  # a cycle would keep it (and its 1 MiB buffer) until a gc run
    finally:
        gc.enable()
