"""The `chatvault` script and `python -m chatvault`."""

import gc
import sys


def main() -> None:
    """Run the command line."""
    # What start-up allocates (modules, classes, the command tree) lives as long as the
    # process, and a collection during start-up walks all of it for nothing: two such walks
    # were a twentieth of a dashboard's time. So nothing is collected until the command is
    # built; then those objects are set aside for good (frozen) and the collector looks only
    # at what the command itself makes, every 100,000 allocations (a report ends before that;
    # an import of millions of lines is collected as it goes).
    gc.disable()
    from chatvault.cli.app import command_line

    command = command_line(sys.argv[1:])
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    gc.enable()
    command(prog_name="chatvault")


if __name__ == "__main__":
    main()
