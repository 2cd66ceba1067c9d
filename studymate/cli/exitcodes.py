"""Named exit codes, as LSB init scripts and ``systemctl`` use them.

| code | meaning                                                        |
|------|----------------------------------------------------------------|
| 0    | success; ``status``: running and healthy                       |
| 1    | failure, unhealthy, or refused (e.g. a second ``supervise``)   |
| 2    | usage or configuration error                                   |
| 3    | not running (supervisord does not answer on its socket)        |
| 130  | interrupted (Ctrl+C, 128 + SIGINT)                             |
"""

from typing import Final

OK: Final = 0
FAILURE: Final = 1
CONFIG: Final = 2
NOT_RUNNING: Final = 3
INTERRUPTED: Final = 130
