"""What the printable traceability record needs besides the page: photos as data URIs.

WeasyPrint fetches nothing from the network (see ``app.web.pdf``), so the photos are read
from the storage here and embedded: their previews (small JPEGs), not the originals.
"""

from __future__ import annotations

import base64

from app.quality.trace import LotTrace
from app.storage.backends import ObjectMissing, Storage

MAX_PHOTOS_PER_INSPECTION = 6


def photo_data_uris(storage: Storage, trace: LotTrace) -> dict[int, str]:
    """Stored file id → ``data:image/jpeg;base64,...`` of its preview. A missing object is
    left out; ``StorageUnavailable`` is raised for the caller to say so on the page."""
    uris: dict[int, str] = {}
    for photos in trace.photos.values():
        for _photo, stored in photos[:MAX_PHOTOS_PER_INSPECTION]:
            if stored.preview_key is None:
                continue
            try:
                with storage.open(stored.preview_key) as handle:
                    data = handle.read()
            except ObjectMissing:
                continue
            uris[stored.id] = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    return uris
