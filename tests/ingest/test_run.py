"""The import loop's process settings: the collector runs rarely while importing, and is
left as it was afterwards, even when the import fails."""

from __future__ import annotations

import gc

import pytest

from chatvault.ingest.tuning import rare_collections
from tests.head import at_head
from tests.ingest.helpers import FIXTURES, ingest


def test_collections_are_rare_while_importing_and_restored_after_a_failure():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), rare_collections():
        assert gc.get_threshold()[0] == 50_000
        assert gc.get_freeze_count() > 0  # what existed before is not walked again
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_import_leaves_the_collector_as_it_found_it(sqlite_url):
    at_head(sqlite_url)
    before = gc.get_threshold()
    assert ingest(sqlite_url, str(FIXTURES / "chatvault" / "usage.jsonl")).exit_code == 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
