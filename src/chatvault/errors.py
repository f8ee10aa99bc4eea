"""Domain errors. Each carries the exit code the CLI maps it to and the fix to suggest.

Exit codes (documented in docs/cli.md):
  0 success; 1 a check found problems (e.g. `db verify` drift) or an unexpected error;
  2 bad input or configuration; 3 the database cannot be opened or failed a query; 4 no
  chatvault database yet, or its schema is out of date or has drifted; 5 a migration was
  refused or failed.
"""


class ChatvaultError(Exception):
    exit_code = 1

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} (run: {self.fix})" if self.fix else self.message


class InputError(ChatvaultError):
    exit_code = 2


class ConfigError(InputError):
    pass


class DatabaseError(ChatvaultError):
    exit_code = 3


class SchemaError(ChatvaultError):
    exit_code = 4


class MigrationError(ChatvaultError):
    exit_code = 5
