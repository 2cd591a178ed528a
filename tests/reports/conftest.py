"""The seed report's two years, loaded once per test that asks for them."""

from __future__ import annotations

import pytest

from tests.e2e import conftest as e2e
from tests.reports import seed

# The browser tests here use the e2e package's live server and system Chromium.
browser_type_launch_args = e2e.browser_type_launch_args
live_server = e2e.live_server


@pytest.fixture
def seeded(app, client, world):
    """Workspace alpha holding R.3 and R.4 of the seed report, imported through the product's
    import screens by its coordinator; the client stays signed in as the coordinator."""
    client.login_as(world.coordinator)
    return seed.load(app, client, world.alpha.id)
