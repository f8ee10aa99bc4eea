"""The cache directory: entries kept whole, read back, and removed when left unused."""

from __future__ import annotations

import os
import time

from chatvault import cache


def test_an_entry_is_read_back_and_a_missing_one_is_none(tmp_path):
    place = cache.folder("things")
    assert place == tmp_path / "xdg-cache" / "chatvault" / "things"
    cache.store(place, "k", {"a": [1, "2"]})
    assert cache.load(place, "k") == {"a": [1, "2"]}
    assert cache.load(place, "other") is None
    (place / "k.json").write_text('{"a": ')
    assert cache.load(place, "k") is None


def test_entries_unused_for_two_weeks_go_when_one_is_written(tmp_path):
    place = cache.folder("things")
    cache.store(place, "old", 1)
    cache.store(place, "recent", 2)
    weeks_ago = time.time() - cache.KEEP_SECONDS - 60
    os.utime(place / "old.json", (weeks_ago, weeks_ago))
    cache.store(place, "new", 3)
    assert sorted(p.name for p in place.iterdir()) == ["new.json", "recent.json"]


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    assert cache.folder("things") is None
    gone = tmp_path / "gone"
    cache.store(gone, "k", 1)  # its folder removed since: nothing written, nothing raised
    assert not gone.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "a-file"]


def test_the_folders_are_the_users_alone(tmp_path):
    place = cache.folder("things")
    assert oct(place.stat().st_mode & 0o777) == oct(place.parent.stat().st_mode & 0o777) == "0o700"
    cache.store(place, "k", {"password": "x"})
    assert oct((place / "k.json").stat().st_mode & 0o777) == "0o600"
    place.chmod(0o755)  # as an older chatvault made it: closed again
    assert cache.folder("things") == place and oct(place.stat().st_mode & 0o777) == "0o700"
    place.chmod(0o777)  # anyone may write entries in it: not used
    assert cache.folder("things") is None


def test_an_entry_someone_else_may_write_is_not_read(tmp_path):
    place = cache.folder("things")
    cache.store(place, "k", {"price": "2.50"})
    (place / "k.json").chmod(0o666)
    assert cache.load(place, "k") is None
    (place / "k.json").chmod(0o600)
    assert cache.load(place, "k") == {"price": "2.50"}
    if os.getuid() == 0:  # root may give it away, as another user's planted file would be
        os.chown(place / "k.json", 12345, -1)
        assert cache.load(place, "k") is None
