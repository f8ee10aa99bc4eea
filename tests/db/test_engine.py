"""The process's engines: one per URL, whichever threads ask for it first."""

from __future__ import annotations

import threading

from chatvault.db.engine import dispose_all, get_engine


def test_threads_asking_at_once_share_one_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    dispose_all()
    start, found = threading.Barrier(8), []

    def ask() -> None:
        start.wait()
        found.append(get_engine(url))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len({id(engine) for engine in found}) == 1
