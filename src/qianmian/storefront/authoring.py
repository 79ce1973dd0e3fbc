"""What marketers author: each audience's experience, saved in the store and shown at once.

`ExperienceService` reads and writes the `experiences` table (`storefront.experiences`) and puts
what it saved into the page service's snapshot, so the next page uses it without waiting for a
refresh. The storefront file's experiences are installed at start (the file wins for the
audiences it names).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any

from qianmian.errors import NotFoundError
from qianmian.store import Store
from qianmian.storefront import experiences as xp
from qianmian.storefront.config import StorefrontFile, packaged_default
from qianmian.storefront.experiences import Experience
from qianmian.storefront.service import StorefrontService


class ExperienceService:
    def __init__(self, store: Store, *, lock: threading.RLock, config: StorefrontFile, storefront: StorefrontService) -> None:
        self.store = store
        self.lock = lock
        self.config = config
        self.storefront = storefront

    def install_file(self, *, now: dt.datetime) -> None:
        """Save the file's experiences to the store (the file wins for the audiences it names)."""
        with self.lock:
            saved = xp.load_all(self.store)
            for name, e in self.config.experiences.items():
                if name not in saved or xp.spec_of(saved[name]) != xp.spec_of(e):
                    xp.save(self.store, e, now=now)

    def get(self, audience: str) -> Experience:
        exps = self.storefront.snapshot.experiences
        if audience in exps:
            return exps[audience]
        if audience == xp.DEFAULT_AUDIENCE:
            return packaged_default()
        raise NotFoundError("experience", audience)

    def list(self) -> list[Experience]:
        exps = dict(self.storefront.snapshot.experiences)
        exps.setdefault(xp.DEFAULT_AUDIENCE, packaged_default())
        return [exps[k] for k in sorted(exps)]

    def put(self, audience: str, spec: Mapping[str, Any], *, now: dt.datetime) -> Experience:
        e = xp.parse_experience(audience, spec)
        with self.lock:
            saved = xp.save(self.store, e, now=now)
        self.storefront.use_experiences({**self.storefront.snapshot.experiences, audience: saved})
        return saved

    def delete(self, audience: str) -> None:
        with self.lock:
            xp.delete(self.store, audience)
        self.storefront.use_experiences({k: v for k, v in self.storefront.snapshot.experiences.items() if k != audience})
