"""db verify as a library call."""

from __future__ import annotations

import pytest


def test_verify_of_a_missing_sqlite_file_is_the_error_every_command_gives(tmp_path):
    from chatvault.db.verify import verify
    from chatvault.errors import SchemaError

    with pytest.raises(SchemaError) as raised:
        verify(f"sqlite:///{tmp_path / 'absent.db'}")
    assert "no chatvault database at" in raised.value.message
