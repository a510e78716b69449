"""Numbered schema migrations, recorded in ``PRAGMA user_version``.

Each migration is a list of statements, and optionally a data step in Python (for
what SQL cannot say), run in one transaction together with the version bump, so a
crash leaves the store at the old version or the new one. Migrations are
append-only: never edit one that has shipped, add the next number.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from desktop_app.core.store.renormalise import renormalise_store

Step = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    version: int
    purpose: str
    statements: tuple[str, ...]
    step: Step | None = None  # runs after the statements, in the same transaction


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "Packs, documents, page text and its full-text index, trusted keys, settings",
        (
            """CREATE TABLE settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) STRICT""",
            """CREATE TABLE publisher_keys (
                key_id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                public_key BLOB NOT NULL UNIQUE,
                origin TEXT NOT NULL CHECK (origin IN ('bundled', 'user')),
                added_at TEXT NOT NULL
            ) STRICT""",
            """CREATE TABLE blobs (
                sha256 TEXT PRIMARY KEY,
                size INTEGER NOT NULL,
                data BLOB NOT NULL
            ) STRICT""",
            """CREATE TABLE packs (
                pack_id TEXT NOT NULL,
                version TEXT NOT NULL,
                title TEXT NOT NULL,
                publisher TEXT NOT NULL,
                manifest TEXT NOT NULL,
                manifest_sha256 TEXT NOT NULL,
                -- 'local': the user's own collection of loose documents (my_documents.py)
                trust TEXT NOT NULL
                    CHECK (trust IN ('signed', 'unsigned', 'unknown-signer', 'local')),
                signer_key_id TEXT,
                signer_name TEXT,
                installed_at TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
                PRIMARY KEY (pack_id, version)
            ) STRICT""",
            "CREATE UNIQUE INDEX packs_one_active ON packs (pack_id) WHERE active = 1",
            # Kept after a pack is removed: an old or replayed pack must not pass
            # for new, and a pack once signed must stay signed.
            """CREATE TABLE pack_history (
                pack_id TEXT PRIMARY KEY,
                highest_version TEXT NOT NULL,
                highest_manifest_sha256 TEXT NOT NULL,
                signed_by TEXT
            ) STRICT""",
            """CREATE TABLE documents (
                id INTEGER PRIMARY KEY,
                pack_id TEXT NOT NULL,
                pack_version TEXT NOT NULL,
                doc_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                kind TEXT NOT NULL,
                title TEXT NOT NULL,
                media_type TEXT NOT NULL,
                path TEXT NOT NULL,
                blob_sha256 TEXT NOT NULL REFERENCES blobs (sha256),
                page_count INTEGER NOT NULL,
                text_sha256 TEXT NOT NULL,
                extractor TEXT NOT NULL,
                html TEXT,
                post TEXT,
                UNIQUE (pack_id, pack_version, doc_id),
                FOREIGN KEY (pack_id, pack_version)
                    REFERENCES packs (pack_id, version) ON DELETE CASCADE
            ) STRICT""",
            """CREATE TABLE media (
                pack_id TEXT NOT NULL,
                pack_version TEXT NOT NULL,
                path TEXT NOT NULL,
                media_type TEXT NOT NULL,
                blob_sha256 TEXT NOT NULL REFERENCES blobs (sha256),
                PRIMARY KEY (pack_id, pack_version, path),
                FOREIGN KEY (pack_id, pack_version)
                    REFERENCES packs (pack_id, version) ON DELETE CASCADE
            ) STRICT""",
            "CREATE INDEX media_blob ON media (blob_sha256)",
            "CREATE INDEX documents_blob ON documents (blob_sha256)",
            # One row per PDF page or per Markdown section (split at headings).
            """CREATE TABLE pages (
                id INTEGER PRIMARY KEY,
                document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                label TEXT NOT NULL,
                anchor TEXT,
                text TEXT NOT NULL,
                UNIQUE (document_id, number)
            ) STRICT""",
            # External-content index over the pages of *active* pack versions only;
            # the code adds and removes rows as versions are activated.
            """CREATE VIRTUAL TABLE pages_fts USING fts5 (
                text,
                content = 'pages',
                content_rowid = 'id',
                tokenize = 'porter unicode61 remove_diacritics 2'
            )""",
            # The same text unstemmed, for prefix queries: FTS5 stems a prefix too, so
            # 'consultat*' would look for stems starting 'consultat' while the stemmed
            # index holds 'consult' for "consultation".
            """CREATE VIRTUAL TABLE pages_words USING fts5 (
                text,
                content = 'pages',
                content_rowid = 'id',
                tokenize = 'unicode61 remove_diacritics 2',
                prefix = '2 3'
            )""",
        ),
    ),
    Migration(
        2,
        "Annotations: highlights and notes, their anchors on earlier versions, note search",
        (
            # No foreign key to packs or documents: a reader's notes outlive the pack
            # version they were made on (updates prune old versions, packs get removed).
            # quote, unit, unit_label and text_start repeat what the selectors say, for
            # search, listing and reading order without parsing JSON.
            """CREATE TABLE annotations (
                uuid TEXT PRIMARY KEY,
                pack_id TEXT NOT NULL,
                doc_id TEXT NOT NULL,
                doc_version TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('highlight', 'note')),
                selectors TEXT NOT NULL CHECK (json_valid(selectors)),
                extractor TEXT NOT NULL,
                text_sha256 TEXT NOT NULL,
                quote TEXT NOT NULL,
                unit INTEGER,
                unit_label TEXT,
                text_start INTEGER,
                body TEXT NOT NULL DEFAULT '',
                colour TEXT NOT NULL DEFAULT 'yellow'
                    CHECK (colour IN ('yellow', 'green', 'blue', 'pink', 'orange')),
                tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
                created TEXT NOT NULL,
                updated TEXT NOT NULL,
                deleted TEXT,
                anchor_state TEXT NOT NULL
                    CHECK (anchor_state IN ('anchored', 'fuzzy', 'orphaned')),
                anchor_score REAL NOT NULL
            ) STRICT""",
            "CREATE INDEX annotations_doc ON annotations (pack_id, doc_id, text_start)",
            # The selectors an annotation had on each earlier version, so a rollback
            # brings the old anchors back instead of re-anchoring onto old text.
            """CREATE TABLE annotation_history (
                uuid TEXT NOT NULL REFERENCES annotations (uuid) ON DELETE CASCADE,
                doc_version TEXT NOT NULL,
                selectors TEXT NOT NULL CHECK (json_valid(selectors)),
                extractor TEXT NOT NULL,
                text_sha256 TEXT NOT NULL,
                anchor_state TEXT NOT NULL
                    CHECK (anchor_state IN ('anchored', 'fuzzy', 'orphaned')),
                anchor_score REAL NOT NULL,
                recorded_at TEXT NOT NULL,
                PRIMARY KEY (uuid, doc_version)
            ) STRICT""",
            # Notes are part of library search, with the same two tokenizers as pages:
            # stemmed for words and phrases, unstemmed with prefixes for 'prefix*'.
            # Not external-content: annotations has no stable integer rowid (a TEXT
            # primary key's rowid may change on VACUUM), so the uuid is kept here.
            """CREATE VIRTUAL TABLE annotations_fts USING fts5 (
                uuid UNINDEXED, quote, body, tags,
                tokenize = 'porter unicode61 remove_diacritics 2'
            )""",
            """CREATE VIRTUAL TABLE annotations_words USING fts5 (
                uuid UNINDEXED, quote, body, tags,
                tokenize = 'unicode61 remove_diacritics 2',
                prefix = '2 3'
            )""",
            """CREATE TRIGGER annotations_index_insert AFTER INSERT ON annotations BEGIN
                INSERT INTO annotations_fts (uuid, quote, body, tags) VALUES (new.uuid,
                    new.quote, new.body,
                    (SELECT group_concat(value, ' ') FROM json_each(new.tags)));
                INSERT INTO annotations_words (uuid, quote, body, tags) VALUES (new.uuid,
                    new.quote, new.body,
                    (SELECT group_concat(value, ' ') FROM json_each(new.tags)));
            END""",
            # Only when the indexed text changes: re-anchoring updates every row.
            """CREATE TRIGGER annotations_index_update AFTER UPDATE ON annotations
            WHEN old.quote IS NOT new.quote OR old.body IS NOT new.body
                OR old.tags IS NOT new.tags BEGIN
                DELETE FROM annotations_fts WHERE uuid = old.uuid;
                DELETE FROM annotations_words WHERE uuid = old.uuid;
                INSERT INTO annotations_fts (uuid, quote, body, tags) VALUES (new.uuid,
                    new.quote, new.body,
                    (SELECT group_concat(value, ' ') FROM json_each(new.tags)));
                INSERT INTO annotations_words (uuid, quote, body, tags) VALUES (new.uuid,
                    new.quote, new.body,
                    (SELECT group_concat(value, ' ') FROM json_each(new.tags)));
            END""",
            """CREATE TRIGGER annotations_index_delete AFTER DELETE ON annotations BEGIN
                DELETE FROM annotations_fts WHERE uuid = old.uuid;
                DELETE FROM annotations_words WHERE uuid = old.uuid;
            END""",
        ),
    ),
    Migration(
        3,
        "Comments: the outbox of comments written here, and the site's threads kept offline",
        (
            # One row per comment the reader wrote. site_url and post are copied from
            # the manifest when the comment is written: the comment keeps its address
            # even if the pack is updated or removed before it is sent.
            """CREATE TABLE outbox (
                uuid TEXT PRIMARY KEY,
                pack_id TEXT NOT NULL,
                doc_id TEXT NOT NULL,
                doc_title TEXT NOT NULL,
                section TEXT NOT NULL DEFAULT '',
                site_url TEXT NOT NULL,
                post TEXT NOT NULL,
                body TEXT NOT NULL CHECK (length(trim(body)) > 0),
                state TEXT NOT NULL CHECK (state IN
                    ('queued', 'sending', 'sent', 'held', 'rejected', 'withdrawn')),
                -- 1 once a send ended without an answer: the next attempt first asks
                -- the site whether the comment arrived.
                uncertain INTEGER NOT NULL DEFAULT 0 CHECK (uncertain IN (0, 1)),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT,
                reason TEXT NOT NULL DEFAULT '',
                remote_id INTEGER,
                remote_link TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                sent_at TEXT
            ) STRICT""",
            "CREATE INDEX outbox_state ON outbox (state, created_at)",
            "CREATE INDEX outbox_doc ON outbox (pack_id, doc_id, created_at)",
            # Others' comments (and the reader's own once on the site), as last fetched.
            # html is sanitised before it is stored; text is its plain form.
            """CREATE TABLE site_comments (
                site_url TEXT NOT NULL,
                post TEXT NOT NULL,
                remote_id INTEGER NOT NULL,
                parent INTEGER NOT NULL DEFAULT 0,
                author_name TEXT NOT NULL,
                date_gmt TEXT NOT NULL,
                html TEXT NOT NULL,
                text TEXT NOT NULL,
                link TEXT NOT NULL DEFAULT '',
                fetched_at TEXT NOT NULL,
                PRIMARY KEY (site_url, remote_id)
            ) STRICT""",
            "CREATE INDEX site_comments_post ON site_comments (site_url, post, date_gmt)",
            """CREATE TABLE site_threads (
                site_url TEXT NOT NULL,
                post TEXT NOT NULL,
                total INTEGER NOT NULL,
                fetched_at TEXT NOT NULL,
                PRIMARY KEY (site_url, post)
            ) STRICT""",
        ),
    ),
    Migration(
        4,
        "Text as the page shows it: stored text normalised (ligatures, broken words), "
        "re-indexed, notes carried to it",
        (),
        renormalise_store,
    ),
    Migration(
        5,
        "Pages that could not be read: why, so that the view and search can say so",
        (),
        lambda conn: _add_column(conn, "pages", "problem TEXT"),  # NULL: the page was read
    ),
)


def _add_column(conn: sqlite3.Connection, table: str, column: str) -> None:
    """ALTER TABLE … ADD COLUMN, unless the column is there already (a store whose
    version number was set back by hand, as the schema-4 upgrade test does)."""
    name = column.split()[0]
    if not any(row[1] == name for row in conn.execute(f"PRAGMA table_info({table})")):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

LATEST_VERSION = MIGRATIONS[-1].version
