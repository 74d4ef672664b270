"""The service layer: the orchestration every command and playbook shares, written once.

One module per service, each taking plain typed inputs and returning typed results (streamed to the
recorders as hosts finish):

- :mod:`~toolkit.services.run_action`: one declared action over a fleet, planned (input checked, the run
  id filled in when the action declares one) then run and recorded; every other service runs through it.
- :mod:`~toolkit.services.diagnose`: device facts + JumpCloud facts + rules, once per host. ``jcfix
  diagnose``, the playbooks' ``diagnose`` step, ``jcfix verify provisioned``, the reports and the exit
  codes all judge by it.
- :mod:`~toolkit.services.apply_fix`: a fix's input completed from its declaration (run id, secrets).
- :mod:`~toolkit.services.undo`: the hosts a run changed (run history) and the undo of that run.
- :mod:`~toolkit.services.verify`: polling until the expected accounts exist (``verify provisioned``).
- :mod:`~toolkit.services.play`: a playbook over a fleet (batches, thresholds, Ctrl-C, the recap's tally).

The CLI modules parse options, call one service and print what it returns.
"""
