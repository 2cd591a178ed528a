"""The access matrix's URL values (one record of every kind, sample string parameters), so
the suites here cover every route of the URL map, including routes added later."""

from tests.test_access_matrix import targets

__all__ = ["targets"]
