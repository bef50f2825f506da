"""Hooks shared by every scenario suite.

A failed isolation check raises :class:`harness.isolation.IsolationFailure`; its ``context``
sections (the table, the command, the tenant bound, the SQL, the rows that leaked) are attached
to the Allure result one by one, so the reviewer reads them in the report, not in a traceback.
"""

from __future__ import annotations

import allure
import pytest

from harness.isolation import IsolationFailure


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    yield
    failure = call.excinfo.value if call.excinfo is not None else None
    if isinstance(failure, IsolationFailure):
        allure.attach(failure.message, name="failure", attachment_type=allure.attachment_type.TEXT)
        for title, text in failure.context:
            allure.attach(text, name=title, attachment_type=allure.attachment_type.TEXT)
