"""The command line: one module per command group, wired together by `app`."""
