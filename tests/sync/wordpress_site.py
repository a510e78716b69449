"""A real WordPress on 127.0.0.1 for the comment-sync tests.

Debian's ``wordpress`` package (``/usr/share/wordpress``) served by PHP's built-in server, with a
private MariaDB. Everything the instance writes lives in one short state folder ``S``:

* ``S/db``: the MariaDB data folder (``mariadb-install-db --no-defaults``). ``mariadbd`` runs in
  its own process group with ``--skip-networking``; its socket is ``S/my.sock`` (a unix socket path
  must stay under about 107 bytes, so keep ``S`` short, e.g. ``/tmp/cbwpXXXX``).
* ``S/www``: the document root, symlinks to every entry of /usr/share/wordpress plus this
  instance's own ``wp-config.php``. Debian's wp-config.php would insist on
  ``/etc/wordpress/config-<host>.php``; the router (and the php-cli bootstrap) define ``ABSPATH``
  as ``S/www/`` before WordPress loads, so ``wp-load.php`` reads ``S/www/wp-config.php`` instead
  and nothing is written to /etc.
* ``S/wp-content``: ``WP_CONTENT_DIR``, holding the must-use plugin of the tests (e-mail is recorded
  to ``S/mail.log`` instead of sent; flood control can be switched off). No theme is installed:
  the REST API does not need one.
* logs: ``install-db.log``, ``mariadb.err``, ``php-server.log`` (php -S itself: connections,
  and requests for real files only), ``requests.log`` (every request WordPress answered, see
  ``request_log()``), ``php-errors.log``, ``install.log``.

Helpers that look at or change the site (``comments()``, ``approve()``, ``reset()`` ...) never
use the sync client under test: they use SQL through the ``mariadb`` client on the private
socket, or the REST API as ``admin`` with plain urllib.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORDPRESS_ROOT = Path("/usr/share/wordpress")
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_DB_NAME = "wordpress"
_SNAPSHOT_PREFIX = "cbsnap_"
_FLOOD_OPTION = "casebook_test_flood_protection"
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes including the terminating NUL

# WordPress keeps comment_approved as '1', '0', 'spam', 'trash' or 'post-trashed'.
_STATUS_FROM_DB = {"1": "approved", "0": "hold"}
_STATUS_TO_DB = {"approved": "1", "approve": "1", "hold": "0", "spam": "spam", "trash": "trash",
                 "post-trashed": "post-trashed"}

# Direct URL access without env proxies: http_proxy must never capture 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartError(RuntimeError):
    """The site could not be started; the message carries the tail of the relevant logs."""


class SiteError(RuntimeError):
    """A helper's request to the site failed."""


@dataclass(frozen=True)
class Account:
    login: str
    id: int
    role: str
    email: str
    password: str  # application password (plaintext, 24 characters, no spaces)


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))


def available() -> str | None:
    """None when this machine can run the test site, else the reason it cannot."""
    missing = [name for name in ("mariadbd", "mariadb-install-db", "php") if not _which(name)]
    if not (_which("mariadb") or _which("mysql")):
        missing.append("mariadb (client)")
    if not (WORDPRESS_ROOT / "wp-load.php").is_file():
        missing.append(str(WORDPRESS_ROOT / "wp-load.php"))
    if missing:
        return ("WordPress test site needs " + ", ".join(missing) + " (Debian: apt-get install "
                "--no-install-recommends wordpress php-cli php-mysql mariadb-server "
                "mariadb-client php8.2 php8.2-cgi mini-httpd)")
    php = _which("php")
    assert php is not None
    try:
        probe = subprocess.run(
            [php, "-r", 'echo PHP_VERSION_ID, " ", extension_loaded("mysqli") ? 1 : 0;'],
            capture_output=True, text=True, timeout=30, check=False)
        version, mysqli = probe.stdout.split()
    except (OSError, subprocess.SubprocessError, ValueError):
        return "WordPress test site: could not run php -r"
    if int(version) < 70400:
        return "WordPress test site needs PHP 7.4 or newer (PHP_CLI_SERVER_WORKERS)"
    if mysqli != "1":
        return "WordPress test site needs the PHP mysqli extension (Debian: php-mysql)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _php_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _sql_str(value: str) -> str:
    return "_utf8mb4 X'" + value.encode().hex() + "'"


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class _Group:
    """A child process that leads its own process group; stop() ends the whole group."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None):
        self.name = name
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> bool:
        """Has the leader exited? Does not reap it, so its group id stays reserved."""
        if self.proc.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.proc.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def stop(self, grace: float) -> None:
        if self.proc.returncode is not None:
            return
        self._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while not self.exited() and time.monotonic() < deadline:
            time.sleep(0.02)
        # Leftovers (php -S workers survive their parent) die now; the leader is not reaped yet,
        # so the group id cannot have been reused.
        self._signal_group(signal.SIGKILL)
        self.proc.wait()

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)


# A watchdog in its own session: it reads process group ids (and optionally "rm PATH") from
# a pipe; when the pipe closes without being dismissed (the test process died, even by SIGKILL),
# it kills those groups and removes the state folder.
_REAPER_SCRIPT = r"""
groups=""
dir=""
while IFS= read -r line; do
  case "$line" in
    "rm "*) dir="${line#rm }" ;;
    *) groups="$groups $line" ;;
  esac
done
for g in $groups; do kill -9 "-$g" 2>/dev/null; done
if [ -n "$dir" ]; then sleep 0.5; rm -rf "$dir" 2>/dev/null || { sleep 1; rm -rf "$dir"; }; fi
"""


class _Reaper:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(["sh", "-c", _REAPER_SCRIPT], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, text=True)

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()

    def watch(self, pgid: int) -> None:
        self._send(str(pgid))

    def remove_on_orphan(self, path: Path) -> None:
        self._send(f"rm {path}")

    def dismiss(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()


_LIVE: set[WordPressSite] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all() -> None:
    with _LIVE_LOCK:
        sites = list(_LIVE)
    for site in sites:
        with contextlib.suppress(Exception):
            site.stop()


atexit.register(_stop_all)


_MU_PLUGIN = r"""<?php
/*
 * Plugin Name: Casebook sync tests
 * Description: No MTA on test machines: e-mail is recorded, not sent. Flood control can be
 *              switched off with the option casebook_test_flood_protection = '0'.
 */
add_filter('pre_wp_mail', function ($return, $atts) {
    if (defined('CASEBOOK_MAIL_LOG')) {
        $mail = array('to' => $atts['to'], 'subject' => $atts['subject'],
                      'message' => $atts['message']);
        file_put_contents(CASEBOOK_MAIL_LOG, json_encode($mail) . "\n", FILE_APPEND | LOCK_EX);
    }
    return true;
}, 10, 2);

add_filter('comment_flood_filter', function ($is_flood, $last, $new) {
    return get_option('casebook_test_flood_protection', '1') === '0' ? false : $is_flood;
}, 1000, 3);
"""

_ROUTER = r"""<?php
// Router for php -S: WordPress from ABSPATH, a symlink farm holding this instance's
// wp-config.php. Defined here, ABSPATH also steers wp-load.php away from Debian's config lookup.
define('ABSPATH', %(www)s);
// php -S does not log the requests a router answers itself: log every request here, after all
// other shutdown functions (WordPress's fatal error handler sets the final status). Requests
// of the test harness's own helpers are left out.
if (!isset($_SERVER['HTTP_X_CASEBOOK_HARNESS'])) {
    register_shutdown_function(function () {
        register_shutdown_function(function () {
            $line = sprintf("[%%d]: %%s %%s\n", (int) http_response_code(),
                            $_SERVER['REQUEST_METHOD'], $_SERVER['REQUEST_URI']);
            file_put_contents(%(request_log)s, $line, FILE_APPEND | LOCK_EX);
        });
    });
}
$path = rawurldecode((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
$file = ABSPATH . ltrim($path, '/');
if (strpos($path, '..') === false) {
    if (is_file($file)) {
        return false;
    }
    if (is_dir($file) && is_file(rtrim($file, '/') . '/index.php')) {
        return false;
    }
}
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = ABSPATH . 'index.php';
chdir(ABSPATH);
require ABSPATH . 'index.php';
"""

_CONFIG = r"""<?php
// wp-config.php of one test instance (written by tests/sync/wordpress_site.py).
define('DB_NAME', %(db_name)s);
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', %(db_host)s);
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';

define('WP_HOME', %(url)s);
define('WP_SITEURL', %(url)s);
define('WP_CONTENT_DIR', %(content)s);
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('WP_DEBUG', false);
define('CASEBOOK_MAIL_LOG', %(mail_log)s);

%(salts)s
require_once ABSPATH . 'wp-settings.php';
"""

_CLI_BOOTSTRAP = r"""<?php
// Loads this instance's WordPress in php-cli.
define('ABSPATH', %(www)s);
$_SERVER['HTTP_HOST'] = %(host)s;
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = %(port)d;
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REMOTE_ADDR'] = '127.0.0.1';
require_once ABSPATH . 'wp-load.php';
"""

_INSTALL = r"""<?php
// Installs WordPress into the private database and prints what the tests need as JSON.
$params = json_decode(file_get_contents($argv[1]), true);
function fail($message) {
    fwrite(STDERR, "install failed: $message\n");
    exit(1);
}
$db = new mysqli('localhost', 'root', '', '', 0, $params['socket']);
if (!$db->query('CREATE DATABASE IF NOT EXISTS `' . $params['db_name']
                . '` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci')) {
    fail($db->error);
}
$db->close();

define('WP_INSTALLING', true);
require $params['bootstrap'];
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$installed = wp_install('Casebook sync tests', 'admin', 'admin@example.test', false, '',
                        wp_slash($params['admin_password']));
wp_set_current_user($installed['user_id']);

// Only the posts of the tests: drop the sample post (and its comment) and the sample pages.
foreach (get_posts(array('post_type' => 'any', 'post_status' => 'any', 'numberposts' => -1))
         as $post) {
    wp_delete_post($post->ID, true);
}

// Pretty permalinks, so /wp-json/... routes (plain permalinks only know ?rest_route=).
global $wp_rewrite;
$wp_rewrite->set_permalink_structure('/%postname%/');
$wp_rewrite->flush_rules(false);
update_option('casebook_test_flood_protection', '1');

$accounts = array('admin' => array('id' => $installed['user_id'], 'role' => 'administrator',
                                   'email' => 'admin@example.test'));
foreach ($params['users'] as $user) {
    $id = wp_insert_user(array(
        'user_login' => $user['login'], 'user_pass' => wp_generate_password(24),
        'user_email' => $user['email'], 'display_name' => $user['display_name'],
        'role' => $user['role'],
    ));
    if (is_wp_error($id)) {
        fail($id->get_error_message());
    }
    $accounts[$user['login']] = array('id' => $id, 'role' => $user['role'],
                                      'email' => $user['email']);
}
foreach ($accounts as $login => $account) {
    $created = WP_Application_Passwords::create_new_application_password(
        $account['id'], array('name' => 'casebook-tests'));
    if (is_wp_error($created)) {
        fail($created->get_error_message());
    }
    $accounts[$login]['password'] = $created[0];
}

$open = array();
for ($i = 1; $i <= $params['open_posts']; $i++) {
    $id = wp_insert_post(array(
        'post_title' => "Open post $i", 'post_content' => "Comments are open on post $i.",
        'post_status' => 'publish', 'post_author' => $installed['user_id'],
        'comment_status' => 'open', 'ping_status' => 'closed',
    ), true);
    if (is_wp_error($id)) {
        fail($id->get_error_message());
    }
    $open[] = $id;
}
$closed = wp_insert_post(array(
    'post_title' => 'Closed post', 'post_content' => 'Comments are closed on this post.',
    'post_status' => 'publish', 'post_author' => $installed['user_id'],
    'comment_status' => 'closed', 'ping_status' => 'closed',
), true);
if (is_wp_error($closed)) {
    fail($closed->get_error_message());
}

// A snapshot of every table, for reset() between tests.
global $wpdb;
$tables = $wpdb->get_col($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->esc_like('wp_') . '%'));
foreach ($tables as $table) {
    $wpdb->query("CREATE TABLE `{$params['snapshot_prefix']}$table` LIKE `$table`");
    $wpdb->query("INSERT INTO `{$params['snapshot_prefix']}$table` SELECT * FROM `$table`");
}

echo json_encode(array('accounts' => $accounts, 'open_posts' => $open, 'closed_post' => $closed,
                       'tables' => $tables, 'wp_version' => $GLOBALS['wp_version'])), "\n";
"""

# The users the install creates besides admin.
_USERS = (
    {"login": "author", "role": "author", "email": "author@example.test",
     "display_name": "Ada Author"},
    {"login": "editor", "role": "editor", "email": "editor@example.test",
     "display_name": "Eddie Editor"},
    {"login": "commenter", "role": "subscriber", "email": "commenter@example.test",
     "display_name": "Cora Commenter"},
)


class WordPressSite:
    """One WordPress instance on ``http://127.0.0.1:PORT``; ``start()``/``stop()`` or ``with``.

    After ``start()``:

    * ``url``; ``accounts`` (login -> :class:`Account`): ``admin`` (administrator), ``author``
      (Author), ``editor`` (Editor, has ``moderate_comments`` so no flood control), ``commenter``
      (Subscriber), each with an application password;
      ``author_user``/``author_password``, ``editor_user``/``editor_password``,
      ``admin_user``/``admin_password`` for convenience;
    * ``open_posts`` (ids of published posts by admin with comments open) and ``closed_post``.

    WordPress's own settings are stock: flood protection on (15 s per non-moderator),
    ``comment_previously_approved=1`` (a user's comments are held until one is approved),
    ``require_name_email=1``, ``comment_max_links=2`` (two or more links hold a comment).
    """

    def __init__(self, state_dir: str | os.PathLike[str], *, workers: int = 4,
                 open_post_count: int = 5, remove_state: bool = False) -> None:
        self.state = Path(os.path.abspath(state_dir))
        self.socket_path = self.state / "my.sock"
        if len(os.fsencode(self.socket_path)) > _MAX_SOCKET_PATH:
            raise ValueError(f"state folder {self.state} is too long for a unix socket path; "
                             "use a short folder such as tempfile.mkdtemp(dir='/tmp')")
        self.workers = workers
        self.remove_state = remove_state
        self._open_post_count = open_post_count
        self.port = 0
        self.accounts: dict[str, Account] = {}
        self.open_posts: list[int] = []
        self.closed_post = 0
        self.wp_version = ""
        self.admin_login_password = secrets.token_urlsafe(18)
        self.startup_seconds = 0.0
        self._tables: list[str] = []
        self._base_accounts: set[str] = set()
        self._groups: list[_Group] = []
        self._reaper: _Reaper | None = None
        self._running = False
        self._lock = threading.Lock()

    # -- paths ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/wp-json"

    @property
    def log_paths(self) -> dict[str, Path]:
        return {name: self.state / name for name in (
            "install-db.log", "mariadb.out", "mariadb.err", "php-server.log", "requests.log",
            "php-errors.log", "install.log", "mail.log")}

    @property
    def _www(self) -> Path:
        return self.state / "www"

    @property
    def _content(self) -> Path:
        return self.state / "wp-content"

    # -- accounts ------------------------------------------------------------------------------

    @property
    def admin_user(self) -> str:
        return self.accounts["admin"].login

    @property
    def admin_password(self) -> str:
        return self.accounts["admin"].password

    @property
    def author_user(self) -> str:
        return self.accounts["author"].login

    @property
    def author_password(self) -> str:
        return self.accounts["author"].password

    @property
    def editor_user(self) -> str:
        return self.accounts["editor"].login

    @property
    def editor_password(self) -> str:
        return self.accounts["editor"].password

    # -- life cycle ----------------------------------------------------------------------------

    def __enter__(self) -> WordPressSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<WordPressSite {self.url if self.port else 'not started'} state={self.state}>"

    def start(self) -> WordPressSite:
        with self._lock:
            if self._running:
                return self
            reason = available()
            if reason:
                raise StartError(reason)
            started = time.monotonic()
            self._running = True
            with _LIVE_LOCK:
                _LIVE.add(self)
            try:
                self._prepare_files()
                self._reaper = _Reaper()
                if self.remove_state:
                    self._reaper.remove_on_orphan(self.state)
                install_db = self._spawn("mariadb-install-db", self._install_db_argv(),
                                         self.state / "install-db.log")
                self._start_php()  # while the data folder is being created
                self._wait_install_db(install_db)
                self._start_mariadb()
                self._install()
            except BaseException as exc:
                message = self._failure_message(exc)
                self._stop_locked()
                if isinstance(exc, Exception):
                    raise StartError(message) from exc
                raise
            self.startup_seconds = time.monotonic() - started
            return self

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._reaper is not None:
            self._reaper.dismiss()
            self._reaper = None
        # php first (it holds database connections), the database last.
        for group in sorted(self._groups, key=lambda g: g.name == "mariadbd"):
            group.stop(grace=10.0 if group.name == "mariadbd" else 3.0)
        self._groups.clear()
        self._running = False
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self.remove_state:
            for _attempt in range(3):
                shutil.rmtree(self.state, ignore_errors=True)
                if not self.state.exists():
                    break
                time.sleep(0.2)

    def _failure_message(self, exc: BaseException) -> str:
        parts = [f"WordPress test site failed to start in {self.state}: {exc}"]
        for name, path in self.log_paths.items():
            if name == "install-db.log" and "mariadb-install-db" not in str(exc):
                continue  # long and useless when it worked
            tail = _tail(path, lines=10 if name.startswith(("php-server", "requests")) else 25)
            if tail.strip():
                parts.append(f"--- {name} (last lines) ---\n{tail}")
        return "\n".join(parts)

    def _spawn(self, name: str, argv: list[str], log: Path,
               env: dict[str, str] | None = None) -> _Group:
        group = _Group(name, argv, log, env)
        self._groups.append(group)
        if self._reaper is not None:
            self._reaper.watch(group.pid)
        return group

    def _forget(self, group: _Group) -> None:
        group.stop(grace=3.0)
        self._groups.remove(group)

    # -- start-up steps ------------------------------------------------------------------------

    def _prepare_files(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        for sub in ("db", "tmp", "www", "wp-content/mu-plugins", "wp-content/plugins",
                    "wp-content/themes", "wp-content/uploads"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        for entry in WORDPRESS_ROOT.iterdir():
            if entry.name in ("wp-config.php", "wp-content", ".htaccess"):
                continue
            link = self._www / entry.name
            if not link.is_symlink():
                link.symlink_to(entry)
        content_link = self._www / "wp-content"
        if not content_link.is_symlink():
            content_link.symlink_to(self._content)
        (self._content / "mu-plugins" / "casebook-tests.php").write_text(_MU_PLUGIN)
        (self.state / "router.php").write_text(_ROUTER % {
            "www": _php_str(f"{self._www}/"),
            "request_log": _php_str(str(self.state / "requests.log"))})
        (self.state / "install.php").write_text(_INSTALL)

    def _write_config(self) -> None:
        salts = "\n".join(
            f"define('{key}', '{secrets.token_hex(32)}');"
            for key in ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT",
                        "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"))
        (self._www / "wp-config.php").write_text(_CONFIG % {
            "db_name": _php_str(_DB_NAME),
            "db_host": _php_str(f"localhost:{self.socket_path}"),
            "url": _php_str(self.url),
            "content": _php_str(str(self._content)),
            "mail_log": _php_str(str(self.state / "mail.log")),
            "salts": salts,
        })
        (self.state / "cli.php").write_text(_CLI_BOOTSTRAP % {
            "www": _php_str(f"{self._www}/"), "host": _php_str(f"127.0.0.1:{self.port}"),
            "port": self.port})

    def _install_db_argv(self) -> list[str]:
        argv = [_which("mariadb-install-db") or "mariadb-install-db", "--no-defaults",
                f"--datadir={self.state / 'db'}", "--auth-root-authentication-method=normal",
                "--skip-test-db", "--skip-name-resolve", f"--tmpdir={self.state / 'tmp'}",
                "--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"]
        if os.geteuid() == 0:
            argv.append("--user=root")
        return argv

    def _wait_install_db(self, group: _Group) -> None:
        try:
            code = group.wait(timeout=120)
        except subprocess.TimeoutExpired:
            raise StartError("mariadb-install-db did not finish within 120 s") from None
        if code != 0:
            raise StartError(f"mariadb-install-db exited with {code}")

    def _start_mariadb(self) -> None:
        argv = [_which("mariadbd") or "mariadbd", "--no-defaults"]
        if os.geteuid() == 0:
            argv.append("--user=root")
        argv += [f"--datadir={self.state / 'db'}", f"--socket={self.socket_path}",
                 "--skip-networking", f"--pid-file={self.state / 'mariadb.pid'}",
                 f"--log-error={self.state / 'mariadb.err'}", f"--tmpdir={self.state / 'tmp'}",
                 "--skip-name-resolve", "--character-set-server=utf8mb4",
                 "--collation-server=utf8mb4_unicode_520_ci", "--max-connections=300",
                 "--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M",
                 # Throwaway data: no fsync per commit.
                 "--loose-innodb-flush-log-at-trx-commit=0", "--loose-innodb-doublewrite=0"]
        group = self._spawn("mariadbd", argv, self.state / "mariadb.out")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if group.exited():
                raise StartError("mariadbd exited during start-up")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(self.socket_path))
                    return
                except OSError:
                    pass
            time.sleep(0.02)
        raise StartError("mariadbd did not open its socket within 60 s")

    def _start_php(self) -> None:
        php = _which("php") or "php"
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": str(self.workers)}
        log = self.state / "php-server.log"
        for _attempt in range(5):
            self.port = _free_port()
            self._write_config()
            offset = log.stat().st_size if log.exists() else 0
            group = self._spawn("php", [
                php, "-d", "opcache.revalidate_freq=0", "-d", "display_errors=0",
                "-d", "log_errors=1", "-d", f"error_log={self.state / 'php-errors.log'}",
                "-S", f"127.0.0.1:{self.port}", "-t", str(self._www),
                str(self.state / "router.php")], log, env)
            if self._wait_php(group, log, offset):
                return
            self._forget(group)  # most likely the port was taken meanwhile: try another
        raise StartError("php -S could not listen on 127.0.0.1 (5 attempts)")

    def _wait_php(self, group: _Group, log: Path, offset: int) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if group.exited():
                return False
            with open(log, "rb") as f:
                f.seek(offset)
                started = b"Development Server" in f.read()
            if started:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return not group.exited()
                except OSError:
                    pass
            time.sleep(0.02)
        return False

    def _install(self) -> None:
        params = self.state / "install.json"
        params.write_text(json.dumps({
            "socket": str(self.socket_path), "db_name": _DB_NAME,
            "bootstrap": str(self.state / "cli.php"),
            "admin_password": self.admin_login_password, "users": list(_USERS),
            "open_posts": self._open_post_count, "snapshot_prefix": _SNAPSHOT_PREFIX}))
        result = self._php_cli([str(self.state / "install.php"), str(params)], timeout=180)
        with open(self.state / "install.log", "a") as log:
            log.write(result.stderr)
        if result.returncode != 0:
            raise StartError(f"the install script exited with {result.returncode}")
        info = json.loads(result.stdout.strip().splitlines()[-1])
        self.accounts = {
            login: Account(login=login, id=int(a["id"]), role=a["role"], email=a["email"],
                           password=a["password"])
            for login, a in info["accounts"].items()}
        self._base_accounts = set(self.accounts)
        self.open_posts = [int(i) for i in info["open_posts"]]
        self.closed_post = int(info["closed_post"])
        self._tables = list(info["tables"])
        self.wp_version = info["wp_version"]

    def _php_cli(self, args: list[str], timeout: float,
                 stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_which("php") or "php", "-d", "display_errors=stderr", "-d", "log_errors=0", *args],
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
            cwd=self.state)

    # -- raw access ----------------------------------------------------------------------------

    def _check_running(self) -> None:
        if not self._running or not self.port:
            raise SiteError("the WordPress test site is not running")

    def sql(self, statements: str, timeout: float = 60) -> list[str]:
        """Run SQL in the site's database with the ``mariadb`` client; the output lines."""
        self._check_running()
        client = _which("mariadb") or _which("mysql") or "mariadb"
        result = subprocess.run(
            [client, "--no-defaults", "--protocol=socket", f"--socket={self.socket_path}",
             "--user=root", f"--database={_DB_NAME}", "--batch", "--skip-column-names", "--raw",
             "--default-character-set=utf8mb4"],
            input=statements, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise SiteError(f"SQL failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout.splitlines()

    def run_php(self, code: str, timeout: float = 60) -> str:
        """Run PHP ``code`` (no ``<?php``) with this site's WordPress loaded; its stdout."""
        self._check_running()
        script = self.state / f"run-{secrets.token_hex(6)}.php"
        script.write_text(f"<?php\nrequire {_php_str(str(self.state / 'cli.php'))};\n{code}\n")
        try:
            result = self._php_cli([str(script)], timeout=timeout)
        finally:
            script.unlink(missing_ok=True)
        if result.returncode != 0:
            raise SiteError(f"PHP failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def rest(self, method: str, route: str, *, body: Any = None,
             query: dict[str, Any] | None = None, user: str | None = "admin",
             timeout: float = 30) -> tuple[int, dict[str, str], Any]:
        """A REST request straight to the site (not through any proxy) with plain urllib.

        ``route`` starts with ``/`` after ``/wp-json`` (e.g. ``/wp/v2/comments``); ``user`` is a
        login from ``accounts`` (Basic auth with its application password) or None.
        Returns (status, headers, decoded JSON body or text)."""
        self._check_running()
        url = f"{self.rest_url}{route}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", "X-Casebook-Harness": "1"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if user is not None:
            account = self.accounts[user]
            token = base64.b64encode(f"{account.login}:{account.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
                response_headers = dict(response.headers.items())
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
            response_headers = dict(error.headers.items())
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        return status, response_headers, payload

    def _admin(self, method: str, route: str, *, body: Any = None,
               query: dict[str, Any] | None = None) -> Any:
        status, _, payload = self.rest(method, route, body=body, query=query)
        if status >= 300:
            raise SiteError(f"{method} {route} as admin gave {status}: {payload}")
        return payload

    # -- looking at comments -------------------------------------------------------------------

    def comments(self, post: int | None = None, status: str = "all",
                 contains: str | None = None) -> list[dict[str, Any]]:
        """Every comment in the database (held, spam and trash included), oldest id first.

        ``status``: "all", "approved", "hold", "spam", "trash" or "post-trashed".
        Each dict: id, post, parent, status, content (raw, as stored), author (login or None),
        author_id, author_name, author_email, date_gmt (ISO, no zone), type."""
        where = ["1"]
        if post is not None:
            where.append(f"c.comment_post_ID = {int(post)}")
        if status != "all":
            if status not in _STATUS_TO_DB:
                raise ValueError(f"unknown comment status {status!r}")
            where.append(f"c.comment_approved = '{_STATUS_TO_DB[status]}'")
        if contains is not None:
            where.append(f"LOCATE({_sql_str(contains)}, c.comment_content) > 0")
        rows = self.sql(
            "SELECT JSON_OBJECT('id', c.comment_ID, 'post', c.comment_post_ID,"
            " 'parent', c.comment_parent, 'status', c.comment_approved,"
            " 'content', c.comment_content, 'author', u.user_login, 'author_id', c.user_id,"
            " 'author_name', c.comment_author, 'author_email', c.comment_author_email,"
            " 'date_gmt', DATE_FORMAT(c.comment_date_gmt, '%Y-%m-%dT%H:%i:%s'),"
            " 'type', c.comment_type)"
            " FROM wp_comments c LEFT JOIN wp_users u ON u.ID = c.user_id"
            f" WHERE {' AND '.join(where)} ORDER BY c.comment_ID;")
        result = []
        for row in rows:
            comment = json.loads(row)
            comment["status"] = _STATUS_FROM_DB.get(comment["status"], comment["status"])
            result.append(comment)
        return result

    def comment(self, comment_id: int) -> dict[str, Any] | None:
        rows = [c for c in self.comments() if c["id"] == int(comment_id)]
        return rows[0] if rows else None

    def mails(self) -> list[dict[str, Any]]:
        """The e-mails WordPress would have sent (to, subject, message)."""
        path = self.state / "mail.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # -- changing the site ---------------------------------------------------------------------

    def set_comment_status(self, comment_id: int, status: str) -> dict[str, Any]:
        """As admin over REST: "approved", "hold", "spam" or "trash"."""
        result: dict[str, Any] = self._admin("POST", f"/wp/v2/comments/{int(comment_id)}",
                                             body={"status": status})
        return result

    def approve(self, comment_id: int) -> dict[str, Any]:
        return self.set_comment_status(comment_id, "approved")

    def edit_comment(self, comment_id: int, content: str) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("POST", f"/wp/v2/comments/{int(comment_id)}",
                                             body={"content": content})
        return result

    def delete_comment(self, comment_id: int, *, force: bool = True) -> None:
        self._admin("DELETE", f"/wp/v2/comments/{int(comment_id)}",
                    query={"force": "true" if force else "false"})

    def add_comment_as(self, user: str, post: int, text: str, *, status: str = "approved",
                       parent: int = 0) -> int:
        """Someone else's comment (``user`` is a login), created by admin; its id.

        Admin is exempt from flood control; the duplicate check still applies. The comment
        counts for the flood check of ``user`` (WordPress matches on e-mail too)."""
        account = self.accounts[user]
        created = self._admin("POST", "/wp/v2/comments", body={
            "post": int(post), "content": text, "author": account.id, "status": status,
            "parent": int(parent)})
        return int(created["id"])

    def create_post(self, title: str, comments_open: bool = True, content: str = "") -> int:
        created = self._admin("POST", "/wp/v2/posts", body={
            "title": title, "content": content or f"{title}.", "status": "publish",
            "comment_status": "open" if comments_open else "closed"})
        return int(created["id"])

    def set_comments_open(self, post_id: int, open_: bool) -> None:
        self._admin("POST", f"/wp/v2/posts/{int(post_id)}",
                    body={"comment_status": "open" if open_ else "closed"})

    def trash_post(self, post_id: int) -> None:
        self._admin("DELETE", f"/wp/v2/posts/{int(post_id)}")

    def delete_post(self, post_id: int) -> None:
        """Permanently, with its comments (reset() brings back the posts of the install)."""
        self._admin("DELETE", f"/wp/v2/posts/{int(post_id)}", query={"force": "true"})

    def create_user(self, login: str, role: str = "subscriber") -> Account:
        """A new user with an application password (removed again by reset())."""
        email = f"{login}@example.test"
        user = self._admin("POST", "/wp/v2/users", body={
            "username": login, "email": email, "password": secrets.token_urlsafe(18),
            "roles": [role], "name": login})
        app = self._admin("POST", f"/wp/v2/users/{int(user['id'])}/application-passwords",
                          body={"name": "casebook-tests"})
        account = Account(login=login, id=int(user["id"]), role=role, email=email,
                          password=str(app["password"]).replace(" ", ""))
        self.accounts[login] = account
        return account

    def set_option(self, name: str, value: str) -> None:
        """Write a WordPress option directly (WordPress reads options afresh per request)."""
        self.sql(self._option_sql(name, value))

    def get_option(self, name: str) -> str | None:
        rows = self.sql("SELECT option_value FROM wp_options"
                        f" WHERE option_name = {_sql_str(name)};")
        return rows[0] if rows else None

    @staticmethod
    def _option_sql(name: str, value: str) -> str:
        return ("INSERT INTO wp_options (option_name, option_value, autoload) VALUES "
                f"({_sql_str(name)}, {_sql_str(value)}, 'yes') "
                "ON DUPLICATE KEY UPDATE option_value = VALUES(option_value);")

    def set_flood_protection(self, on: bool) -> None:
        """WordPress's comment flood control (15 s between a non-moderator's comments)."""
        self.set_option(_FLOOD_OPTION, "1" if on else "0")

    def set_comment_previously_approved(self, on: bool) -> None:
        """On (stock): a user's comments are held until one of theirs is approved.
        Off: comments are approved at once (unless other moderation rules hold them)."""
        self.set_option("comment_previously_approved", "1" if on else "")

    def reset_comments(self) -> None:
        """Delete every comment (and comment meta); keeps comment ids increasing."""
        self.sql("DELETE FROM wp_commentmeta; DELETE FROM wp_comments;"
                 " UPDATE wp_posts SET comment_count = 0;")

    def reset(self, *, flood_protection: bool = True) -> None:
        """Back to the state right after the install (one SQL batch, a few ms of work).

        Restores every table from its snapshot: comments gone, posts and users of the install
        back (also those deleted), posts and users created since gone, options stock. Auto
        increment counters are kept, so new ids never repeat an earlier one."""
        statements = ["SET autocommit = 0;"]
        for table in self._tables:
            statements.append(f"DELETE FROM `{table}`;")
            statements.append(f"INSERT INTO `{table}` SELECT * FROM `{_SNAPSHOT_PREFIX}{table}`;")
        statements.append(self._option_sql(_FLOOD_OPTION, "1" if flood_protection else "0"))
        statements.append("COMMIT;")
        self.sql("\n".join(statements))
        self.accounts = {k: v for k, v in self.accounts.items() if k in self._base_accounts}
        (self.state / "mail.log").unlink(missing_ok=True)
        (self.state / "requests.log").unlink(missing_ok=True)

    def posts(self) -> list[dict[str, Any]]:
        """Published posts as admin sees them over REST (id, title, comment_status)."""
        result: list[dict[str, Any]] = self._admin(
            "GET", "/wp/v2/posts", query={"per_page": 100, "context": "edit"})
        return [{"id": p["id"], "title": p["title"]["raw"],
                 "comment_status": p["comment_status"]} for p in result]

    def request_log(self) -> list[str]:
        """Every request WordPress answered since the last reset(), oldest first, as
        ``[201]: POST /wp-json/wp/v2/comments`` (status, method, target). The harness's own
        helper requests (``rest()`` and the helpers built on it) are not listed."""
        try:
            return (self.state / "requests.log").read_text(errors="replace").splitlines()
        except OSError:
            return []

    def user_ids(self, logins: Iterable[str] | None = None) -> dict[str, int]:
        names = self.accounts if logins is None else logins
        return {name: self.accounts[name].id for name in names}
