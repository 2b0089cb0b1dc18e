"""The decision engine: which line item and creative fill each ad slot of a page.

Pure Python: it imports neither Flask nor SQLAlchemy. It works on an in-memory
:class:`~layoutserver.ads.decisions.snapshot.Snapshot` of the ad configuration, revised when
that configuration changes (``Snapshot.apply``), and on a
:class:`~layoutserver.ads.decisions.model.DeliveryState` that says what has been delivered so
far. Entry point: :func:`decide_page`.
"""

from .engine import decide_page
from .snapshot import Snapshot
from .state import InMemoryDeliveryState

__all__ = ["InMemoryDeliveryState", "Snapshot", "decide_page"]
