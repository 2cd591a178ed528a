"""Shared by the security suites: the access matrix's URL values (one record of every kind,
sample string parameters) so every route of the URL map is covered, including routes added
later, and one crawl of every page as a workspace administrator."""

from __future__ import annotations

import pytest

from tests.security.crawl import Crawl, crawl
from tests.test_access_matrix import targets

__all__ = ["crawled", "targets"]

_CRAWL: list[Crawl] = []


@pytest.fixture
def crawled(app, world, targets) -> Crawl:
    """Every page and its forms. The forms and their fields do not depend on the data, so
    the first test that asks crawls and later ones reuse it."""
    if not _CRAWL:
        client = app.test_client()
        client.login_as(world.admin)
        _CRAWL.append(crawl(app, client, targets))
    return _CRAWL[0]
