"""Comment sync against a real WordPress on 127.0.0.1: comments delivered per second,
and the time to bring down 1,000 comments across 10 posts, each next to the same
HTTP work done by a bare httpx loop in the same run (the limit: what WordPress and
PHP can answer, with no store, no lookups, no bookkeeping).

    .venv/bin/python -m benchmarks.sync [--comments 200]

Needs Debian's wordpress, mariadb-server and php packages (see .ci/run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

from desktop_app.core.comments import credentials, outbox, sync, threads
from desktop_app.core.comments.sites import SiteSessions
from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.signing import generate_key
from tests.packfactory import PackFactory
from tests.sync.wordpress_site import WordPressSite, available

PACK = "org.example.sample"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=200)
    parser.add_argument("--thread", type=int, default=1000, help="comments to bring down")
    args = parser.parse_args(argv)
    reason = available()
    if reason:
        print(f"WordPress is not available: {reason}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="cbbench"))
    with WordPressSite(tempfile.mkdtemp(prefix="cbwp", dir="/tmp"), remove_state=True) as site:
        site.reset(flood_protection=False)
        site.set_comment_previously_approved(False)
        posts = [site.create_post(f"Bench post {n}") for n in range(10)]
        conn = open_library(work / "casebook.sqlite3")
        factory = PackFactory(work / "packs", generate_key("Bench"))
        spec = factory.spec()
        spec.fields["site"]["url"] = site.url
        spec.documents[0]["post"], spec.documents[1]["post"] = posts[0], posts[1]
        install_pack(conn, factory.write(spec), allow_unsigned=True)
        # Session-only credentials: no keyring needed for a benchmark.
        credentials._session[site.url] = site.author_password.replace(" ", "")
        credentials.save(conn, site.url, site.author_user, site.author_password)

        # Baseline: the same POSTs, one at a time, by a bare client.
        auth = (site.author_user, site.author_password.replace(" ", ""))
        with httpx.Client(auth=auth, timeout=30) as client:
            started = time.perf_counter()
            for n in range(args.comments):
                answer = client.post(f"{site.url}/wp-json/wp/v2/comments",
                                     json={"post": posts[2], "content": f"bare {n}"})
                answer.raise_for_status()
            bare_rate = args.comments / (time.perf_counter() - started)

        for n in range(args.comments):
            outbox.add_comment(conn, PACK, ("guide", "case-one")[n % 2], f"Casebook {n}")
        started = time.perf_counter()
        with SiteSessions(conn) as sites:
            report = sync.deliver(conn, sites.signed_in)
        ours_rate = args.comments / (time.perf_counter() - started)
        assert report.sent == args.comments, report

        # Threads: 1,000 comments spread over the 10 posts, written straight to the site.
        site.reset_comments()
        per_post = args.thread // len(posts)
        site.run_php(
            "foreach (" + repr(posts).replace("[", "array(").replace("]", ")") + " as $p) {"
            f" for ($i = 0; $i < {per_post}; $i++) {{ wp_insert_comment(array("
            "'comment_post_ID' => $p, 'comment_content' => \"Comment $i on $p\", "
            "'comment_author' => 'Someone', 'comment_approved' => 1,"
            " 'comment_date_gmt' => gmdate('Y-m-d H:i:s', time() - $i))); } }")
        with httpx.Client(timeout=30) as client:
            started = time.perf_counter()
            for post in posts:
                page = 1
                while True:
                    answer = client.get(f"{site.url}/wp-json/wp/v2/comments", params={
                        "post": post, "per_page": 100, "page": page})
                    if page >= int(answer.headers["X-WP-TotalPages"]):
                        break
                    page += 1
            bare_fetch = time.perf_counter() - started
        started = time.perf_counter()
        fetched = 0
        with SiteSessions(conn) as sites:
            for post in posts:
                site_obj = sites.anonymous(site.url)
                comments, total, complete = site_obj.thread(str(post), None)
                fetched += threads.store_thread(conn, site.url, str(post), comments, total,
                                                complete)
        ours_fetch = time.perf_counter() - started
        started = time.perf_counter()
        with SiteSessions(conn) as sites:
            for post in posts:
                known = threads.known_ids(conn, site.url, str(post))
                comments, total, complete = sites.anonymous(site.url).thread(str(post), known)
                threads.store_thread(conn, site.url, str(post), comments, total, complete)
        again = time.perf_counter() - started
        conn.close()

    print(f"\nDelivery, {args.comments} comments, one at a time (flood protection off):")
    print(f"  Casebook: {ours_rate:.1f} comments/s   bare httpx POST loop: {bare_rate:.1f}/s   "
          f"ratio {ours_rate / bare_rate:.2f}")
    print(f"Bring down {fetched} comments across {len(posts)} posts:")
    print(f"  Casebook: {ours_fetch:.2f} s   bare httpx GET of the same pages: {bare_fetch:.2f} s"
          f"   ratio {ours_fetch / bare_fetch:.2f}")
    print(f"  nothing changed, second sync: {again * 1000:.0f} ms (one request per thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
