"""Edge caches in front of layoutserver: surrogate keys on shared responses (``keys``), purges
of the keys a change touched, queued with the change and sent to every configured edge
(``purge``, ``models``), and the per-app state (``extension``). See ``docs/edge.md``."""
