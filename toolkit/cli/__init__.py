"""The ``jcfix`` command line: one module per command or command group, assembled in :mod:`.app`."""
