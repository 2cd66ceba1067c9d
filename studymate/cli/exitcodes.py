"""Named exit codes (a stable interface for scripts: 0 success, 1 failure, 2 usage or configuration error)."""

from typing import Final

OK: Final = 0
FAILURE: Final = 1
CONFIG: Final = 2
