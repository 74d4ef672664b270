"""JumpCloud's side of takeover and provisioning: the REST API client, the directory facts diagnose needs,
the ``jumpcloud`` inventory source and the fixes that change JumpCloud rather than a device.

Every fact used here (endpoints, fields, headers, paging, user states) is sourced in
``shared/research/windows-jumpcloud.md`` §0 and §6.
"""
