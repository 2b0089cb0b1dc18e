"""API tokens, roles and the audit log: the groundwork of the admin API (no HTTP here).

``models`` (the tables), ``roles`` (who may read or change what), ``tokens`` (create, revoke,
authenticate) and ``audit`` (record and read changes).
"""
