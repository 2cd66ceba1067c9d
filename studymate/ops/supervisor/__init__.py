"""supervisord for the appliance, in small modules.

- :mod:`.client`: the one XML-RPC client (with its timeout) for ``status``, ``restart``, the
  watchdog and the backup pause.
- :mod:`.config`: the shipped ``supervisord.conf`` (supervisor's own ``%(ENV_X)s`` expansion)
  and the environment ``studymate supervise`` gives it.
- :mod:`.events`: a plugin inside supervisord that remembers every program exit, expected or
  not, from supervisor's own process-state events.
- :mod:`.run`: the lean supervisord process and its sd_notify reports to systemd.
- :mod:`.memory`: resident memory of the appliance, from /proc.

Only the standard library and supervisor are imported here: :mod:`.run`, :mod:`.events` and
:mod:`.client` run inside the long-lived supervisord process.
"""
