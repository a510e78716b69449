"""Fixtures for the comment-sync tests: a real WordPress on 127.0.0.1 and a faulty proxy.

``wordpress`` (session): one :class:`WordPressSite`, started once (about 1-2 s) in a short
folder under /tmp and removed afterwards (keep it with ``CASEBOOK_KEEP_WORDPRESS=1``). When the
machine lacks the Debian packages the tests are skipped, or fail when ``CI`` or
``CASEBOOK_REQUIRE_WORDPRESS`` is set (``.ci/run`` sets the latter).

``site`` (function): the session site after ``reset()``: every table back to the state right
after the install (no comments, the posts and users of the install, stock options), and then
**flood protection switched off**, because with it a non-moderator can post only one comment
per 15 s. Tests of flood behaviour call ``site.set_flood_protection(True)``. Everything else is
stock WordPress 6.1: an Author's first comments are held until one is approved
(``comment_previously_approved``), duplicates give 409.

``fault_proxy`` (function): a :class:`FaultProxy` in front of ``site`` (use ``fault_proxy.url``
as the client's base URL).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.sync.fault_proxy import FaultProxy
from tests.sync.wordpress_site import StartError, WordPressSite, available


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _wordpress_required() -> bool:
    return _env_flag("CI") or _env_flag("CASEBOOK_REQUIRE_WORDPRESS")


@pytest.fixture(scope="session")
def wordpress() -> Iterator[WordPressSite]:
    reason = available()
    if reason is not None:
        if _wordpress_required():
            pytest.fail(f"WordPress test site required but unavailable: {reason}", pytrace=False)
        pytest.skip(reason)
    keep = _env_flag("CASEBOOK_KEEP_WORDPRESS")
    state = tempfile.mkdtemp(prefix="cbwp", dir="/tmp")
    site = WordPressSite(state, remove_state=not keep)
    try:
        site.start()
    except StartError as exc:
        if not keep:
            shutil.rmtree(state, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture
def site(wordpress: WordPressSite) -> WordPressSite:
    wordpress.reset(flood_protection=False)
    return wordpress


@pytest.fixture
def fault_proxy(site: WordPressSite) -> Iterator[FaultProxy]:
    with FaultProxy(site.url) as proxy:
        yield proxy
