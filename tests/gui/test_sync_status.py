"""The status bar's words for what the last sync found."""

from __future__ import annotations

from desktop_app.core.comments.sync import SyncReport
from desktop_app.gui.community.sync_status import status_text
from desktop_app.gui.community.sync_worker import SyncOutcome


def test_a_run_that_stood_aside_for_another_casebook_says_so() -> None:
    report = SyncReport(waiting=2, busy=True,
                        problems=["Another Casebook window or command is sending comments; "
                                  "this one left them to it."])
    text, tip, sign_in = status_text({"queued": 2}, SyncOutcome(report), running=False)
    assert text == "2 comments waiting — another Casebook is sending them"
    assert "Another Casebook" in tip and not sign_in


def test_offline_and_sign_in_are_told_apart() -> None:
    offline = SyncReport(waiting=1, offline={"https://site.example"})
    assert status_text({"queued": 1}, SyncOutcome(offline), running=False)[0] == \
        "1 comment waiting — offline"
    signed_out = SyncReport(waiting=1, sign_in_needed={"https://site.example"})
    text, tip, sign_in = status_text({"queued": 1}, SyncOutcome(signed_out), running=False)
    assert (text, sign_in) == ("Sign-in needed", True)
    assert "sign in to https://site.example" in tip
