"""``python -m studymate.ops.supervisor CONF SOCK HEARTBEAT STALE MODE``: the lean supervisord."""

import sys

from studymate.ops.supervisor.run import main

sys.exit(main(sys.argv[1:]))
