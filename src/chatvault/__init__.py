"""chatvault: LLM API usage and cost analytics from the command line.

`UsageStore` and `record_usage` (see chatvault.store) let applications write usage directly.
They are imported on first use, so `chatvault --help` does not load the database stack.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["UsageStore", "__version__", "record_usage"]


def __getattr__(name: str) -> Any:
    if name in ("UsageStore", "record_usage"):
        from chatvault import store

        return getattr(store, name)
    raise AttributeError(f"module 'chatvault' has no attribute {name!r}")
