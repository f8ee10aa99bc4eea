"""Credentials never reach output: one place that masks them in any text."""

import re

# user:password@ in a URL.
_USERINFO = re.compile(r"(\w[\w+.-]*://[^:/@\s]*:)[^@\s]+(@)")
# Query-string parameters that carry credentials (password, passwd, sslpassword, token...).
# The value ends before the punctuation that ends the URL in a sentence ("...=***: refused").
_QUERY = re.compile(
    r"([?&][^=&\s]*(?:pass|pwd|secret|token|key)[^=&\s]*=)[^&\s]+?(?=[.,;:)'\"\]]*(?:[\s&]|$))",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return _QUERY.sub(r"\1***", _USERINFO.sub(r"\1***\2", text))
