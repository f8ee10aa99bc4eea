"""The `chatvault` script and `python -m chatvault`."""

import gc


def main() -> None:
    """Run the command line."""
    # A command's objects are freed by reference counting; it makes few cycles. At Python's
    # default thresholds the collector walks the young objects of every module imported some
    # 140 times during a dashboard (a tenth of its time): every 50,000 allocations is plenty.
    gc.set_threshold(50_000, 50, 100)
    from chatvault.cli.app import main as run

    run()


if __name__ == "__main__":
    main()
