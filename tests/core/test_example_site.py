"""The sample pack's community site is marked as an example that does not exist: a sync
neither sends to it nor fetches from it, and neither it nor ``doctor`` reports it as
down each time. The reader's comments on the sample stay queued on this computer."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app import cli
from desktop_app.core.comments import outbox, sync
from desktop_app.core.comments.discussion import discussion_of, example_sites
from desktop_app.core.comments.sites import SiteSessions
from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.sample import BUNDLED_KEYS, sample_pack

SAMPLE = "org.casebook.sample.local-by-social"
SITE = "https://community.example.org"


@pytest.fixture(scope="module")
def built_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_pack(tmp_path_factory.mktemp("sample"))


@pytest.fixture
def library(data_dir: Path, built_sample: Path):
    conn = open_library(data_dir / "casebook.sqlite3", BUNDLED_KEYS)
    install_pack(conn, built_sample)
    yield conn
    conn.close()


def test_a_sync_leaves_the_example_site_alone_and_reports_no_problem(library) -> None:
    assert example_sites(library) == {SITE}
    comment = outbox.add_comment(library, SAMPLE, "kent-digital-technology", "Trying it out.")
    with SiteSessions(library, timeout=2.0) as sites:
        report = sync.deliver(library, sites.signed_in, wait_limit=0)
        fetched, problems = sync.fetch_threads(library, sites.signed_in, sites.anonymous)
    assert (report.problems, report.sign_in_needed, report.offline) == ([], set(), set())
    assert (fetched, problems) == (0, [])
    assert outbox.get_comment(library, comment.uuid).state == "queued"
    assert report.next_due is None  # nothing to come back for
    assert discussion_of(library, SAMPLE, "kent-digital-technology").example is True


def test_doctor_does_not_try_the_example_site(library, data_dir: Path, capsys) -> None:
    library.close()
    assert cli.main(["--data-dir", str(data_dir), "doctor"]) == 0
    out = capsys.readouterr().out
    assert f"{SITE}\n  an example site named by a sample pack" in out
    assert "does not answer" not in out
