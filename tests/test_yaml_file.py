"""Reading YAML: exact numbers, one line per error, and the parsed file kept by its digest."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from chatvault.errors import ConfigError
from chatvault.yaml_file import read_yaml

TEXT = """\
timezone: Europe/Paris
amounts: [0.10, 1.5e-7, -0.0, 12_000.50, 7]
when: 2026-12-07
at: 2026-12-07 10:30:00.250000+05:30
naive: 2026-12-07 10:30:00
flags: {on: yes, off: no, ~: ~}
1: int key
2026-01-01: date key
nested: [[a, {b: [1, 2.5]}], []]
"""
EXPECTED = {
    "timezone": "Europe/Paris",
    "amounts": [Decimal("0.10"), Decimal("1.5e-7"), Decimal("-0.0"), Decimal("12000.50"), 7],
    "when": date(2026, 12, 7),
    "at": datetime(2026, 12, 7, 10, 30, 0, 250000, timezone(timedelta(hours=5, minutes=30))),
    "naive": datetime(2026, 12, 7, 10, 30),
    "flags": {True: True, False: False, None: None},
    1: "int key",
    date(2026, 1, 1): "date key",
    "nested": [["a", {"b": [1, Decimal("2.5")]}], []],
}


def _exact(value):
    """The value with each leaf's type beside it: Decimal("0.10") == 0.1 would hide a float."""
    if isinstance(value, dict):
        return {_exact(k): _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return (type(value).__name__, str(value), getattr(value, "tzinfo", None))


def cache_entries(tmp_path):
    return sorted((tmp_path / "xdg-cache" / "chatvault" / "config").glob("*.json"))


def test_a_second_read_gives_back_exactly_what_the_parser_gave(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(TEXT)
    first = read_yaml(path)
    assert _exact(first) == _exact(EXPECTED)
    assert len(cache_entries(tmp_path)) == 1
    assert _exact(read_yaml(path)) == _exact(EXPECTED)


def test_a_second_read_does_not_import_pyyaml(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(TEXT)
    code = (
        "import sys, pathlib; from chatvault.yaml_file import read_yaml; "
        f"read_yaml(pathlib.Path({str(path)!r})); print('yaml' in sys.modules)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    assert [run.stdout.strip() for run in runs] == ["True", "False"], runs[-1].stderr


def test_a_changed_file_is_read_again(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("budget: 10.5\n")
    assert read_yaml(path) == {"budget": Decimal("10.5")}
    path.write_text("budget: 10.6\n")  # same size, maybe the same mtime: the bytes decide
    assert read_yaml(path) == {"budget": Decimal("10.6")}


def test_a_damaged_entry_is_parsed_again_and_replaced(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("budget: 10.5\n")
    read_yaml(path)
    (entry,) = cache_entries(tmp_path)
    for damage in ('{"data": {"decimal": "x"}}', '{"data": {"what": 1}}', "{not json"):
        entry.write_text(damage)
        assert read_yaml(path) == {"budget": Decimal("10.5")}
        assert '"decimal": "10.5"' in entry.read_text()


def test_values_json_cannot_give_back_are_returned_but_not_kept(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("tags: !!set {a: null}\nloop: &x [*x]\n")
    data = read_yaml(path)
    assert data["tags"] == {"a"} and data["loop"][0] is data["loop"]
    assert cache_entries(tmp_path) == []


def test_aliases_and_huge_numbers_are_returned_but_not_kept(tmp_path):
    """Six levels of ten aliases stand for a million items: parsed, not written out."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 7):
        levels.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(levels) + "\n")
    assert read_yaml(path)["a6"][9][9][9][9][9][9][9] == "x"
    path.write_text("big: 0x" + "f" * 4000 + "\n")  # more digits than Python turns into text
    assert read_yaml(path)["big"] == 16**4000 - 1
    assert cache_entries(tmp_path) == []


def test_an_unwritable_cache_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    (tmp_path / "a-file").write_text("")
    path = tmp_path / "config.yaml"
    path.write_text("when: 2026-12-07T10:00:00Z\n")
    assert read_yaml(path) == {"when": datetime(2026, 12, 7, 10, tzinfo=UTC)}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"a: 1\na: 2\n", "config.yaml line 2: duplicate key 'a'"),
        (b"a: .inf\n", "config.yaml line 1: '.inf' is not a finite number"),
        (b"a: [1\n", "config.yaml line 2"),
        (b"a: \xff\n", "config.yaml: not UTF-8 text"),
    ],
)
def test_a_bad_file_is_one_config_error_each_time(tmp_path, raw, message):
    path = tmp_path / "config.yaml"
    path.write_bytes(raw)
    for _ in range(2):
        with pytest.raises(ConfigError) as caught:
            read_yaml(path)
        assert message in str(caught.value) and "\n" not in str(caught.value)
    assert cache_entries(tmp_path) == []
