"""Credentials masked in any text, and the text around them kept."""

from __future__ import annotations

import pytest

from chatvault.redact import redact


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:pw@h/x", "postgresql://u:***@h/x"),
        (
            "db postgresql://u:p@h/x?password=s: refused",
            "db postgresql://u:***@h/x?password=***: refused",
        ),
        ("at mysql://h/x?sslpassword=a.b&x=1.", "at mysql://h/x?sslpassword=***&x=1."),
        ("(url: https://h/?token=abc)", "(url: https://h/?token=***)"),
        ("https://h/?api_key=k1, then", "https://h/?api_key=***, then"),
        ("no secret here", "no secret here"),
    ],
)
def test_a_secret_is_masked_and_the_separator_after_it_kept(text, masked):
    assert redact(text) == masked
    assert redact(masked) == masked  # masking twice changes nothing
