"""The sample pack that ships with Casebook, and the key that signs it.

In a source checkout the pack is built from ``content_packs/local-by-social``
(signed with the sample key kept beside it: a published sample, not a secret);
a frozen build carries the built pack in ``resources/packs``.
"""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.errors import CasebookError
from desktop_app.core.packs.signing import load_secret_key
from desktop_app.paths import program_dir

RESOURCES = Path(__file__).resolve().parent / "resources"
BUNDLED_KEYS = sorted((RESOURCES / "keys").glob("*.pub"))
SAMPLE_SOURCE = program_dir() / "content_packs" / "local-by-social"
SAMPLE_KEY = program_dir() / "content_packs" / "sample-publisher.key"


def sample_pack(build_dir: Path, edition: str | None = None) -> Path:
    """A signed sample pack: the bundled one, or one built from the sources."""
    if edition is None:
        bundled = sorted((RESOURCES / "packs").glob("*.cbpack"))
        if bundled:
            return bundled[-1]
    from desktop_app.core.packs.builder import build_pack  # PyMuPDF: only when building

    if not SAMPLE_SOURCE.is_dir():
        raise CasebookError(
            "The sample pack is not part of this installation (no content_packs folder)."
        )
    return build_pack(SAMPLE_SOURCE, build_dir, edition=edition, key=load_secret_key(SAMPLE_KEY))
