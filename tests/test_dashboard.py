"""Tests for autoresearch.dashboard: the pure helpers on asv's own template, the command on a
tiny real asv project (3 commits benchmarked with `asv run`), and the published dashboard in
headless Chromium (skipped when Chromium is not installed).

Environment:
  AUTORESEARCH_DASHBOARD_RESULTS  an asv project dir (holding asv.conf.json) to publish and check
                                  instead of the tiny one, e.g. the repository root
  AUTORESEARCH_DASHBOARD_SHOTS    where the browser test saves its PNG screenshots
                                  (default: the test's tmp_path)
  CHROMIUM                        the Chromium binary (default: chromium on PATH)
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from autoresearch import dashboard as db
from autoresearch.harness import assets

REPO = Path(__file__).resolve().parents[1]
ASV_WWW = Path(__import__("asv").__file__).parent / "www"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def _run(cmd, cwd, env=None):
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _module_env(home: Path | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    if home is not None:
        env["HOME"] = str(home)  # asv keeps ~/.asv-machine.json: not the user's
    return env


# --------------------------------------------------------------------------------------------
# Helpers, on a copy of asv's own page template


@pytest.fixture
def template_dir(tmp_path):
    html_dir = tmp_path / "html"
    html_dir.mkdir()
    for name in ("index.html", "error.html"):
        shutil.copyfile(ASV_WWW / name, html_dir / name)
    return html_dir


def test_is_external():
    assert assets.is_external("https://code.jquery.com/jquery-3.3.1.min.js")
    assert assets.is_external("//cdn.example.org/x.js")
    for local in ("asv.js", "vendor/a/b.js", "../x.css", "/abs/path.js", "data:,x", "#top"):
        assert not assets.is_external(local)


def test_vendored_assets_match_their_checksums_and_carry_licences():
    assert assets.verify_vendor_assets() == []
    for pkg in assets.PACKAGES:
        assert (db.VENDOR_DIR / pkg.local(pkg.license)).is_file()


def test_no_vendored_file_is_gitignored():
    # A .gitignore pattern (dist/ once) would leave a fresh clone without the file.
    if not (REPO / ".git").exists() or not shutil.which("git"):
        pytest.skip("not a git work tree")
    files = [str(p) for p in db.VENDOR_DIR.rglob("*") if p.is_file()]
    proc = subprocess.run(["git", "check-ignore", *files], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1, f"ignored by git:\n{proc.stdout}{proc.stderr}"


def test_every_cdn_reference_in_asv_template_has_a_vendored_copy():
    # Guards asv upgrades: a new or re-versioned CDN file must be added to PACKAGES.
    refs = [r for p in ASV_WWW.glob("*.html") for r in assets.find_external_refs_in_file(p)]
    assert refs, "asv's template no longer loads anything from a CDN?"
    known = assets.url_map()
    assert [r.url for r in refs if r.url not in known] == []


def test_localize_assets_rewrites_every_reference(template_dir):
    before = assets.find_external_refs(template_dir)
    assert {r.tag for r in before} == {"script", "link"}

    rewrites = db.localize_assets(template_dir)

    assert assets.find_external_refs(template_dir) == []
    assert sorted(r.url for r in rewrites) == sorted(r.url for r in before)
    for r in rewrites:
        assert (r.file.parent / r.local).is_file(), r
    by_url = {r.url: r for r in rewrites}
    # The page's SRI hash is checked against byte-identical copies at build time; other builds
    # of the same version cannot match it.
    assert by_url["https://code.jquery.com/jquery-3.3.1.min.js"].integrity == "checked"
    assert sum(r.integrity == "checked" for r in rewrites) == 5
    assert {r.integrity for r in rewrites} == {"checked", "other-build"}
    text = (template_dir / "index.html").read_text()
    assert 'src="vendor/jquery-3.3.1/jquery.min.js"' in text
    # Opened from file://, Chromium refuses crossorigin tags and unenforceable integrity hashes.
    assert "crossorigin" not in text and "integrity" not in text
    assert 'href="https://github.com/airspeed-velocity/asv/"' in text  # a link, left alone
    # Every package ships with its licence; bootstrap's css finds its fonts relatively.
    assert (template_dir / "vendor/bootstrap-3.1.1/LICENSE").is_file()
    assert (
        template_dir / "vendor/bootstrap-3.1.1/fonts/glyphicons-halflings-regular.woff"
    ).is_file()
    # Running it again is a no-op.
    assert db.localize_assets(template_dir) == []


def test_localize_assets_fails_loudly_on_an_unknown_reference(template_dir):
    index = template_dir / "index.html"
    index.write_text(
        index.read_text().replace(
            "</head>", '<script src="https://example.org/new.js"></script></head>'
        )
    )
    original = index.read_text()
    with pytest.raises(db.DashboardError) as exc:
        db.localize_assets(template_dir)
    assert exc.value.code == db.EXIT_NOT_LOCAL
    assert "https://example.org/new.js" in str(exc.value)
    assert index.read_text() == original  # nothing half-done
    assert not (template_dir / "vendor").exists()


def test_localize_assets_rejects_a_corrupt_vendored_file(template_dir, tmp_path):
    vendor = tmp_path / "vendor_copy"
    shutil.copytree(db.VENDOR_DIR, vendor)
    (vendor / "jquery-3.3.1/jquery.min.js").write_text("/* tampered */")
    with pytest.raises(db.DashboardError) as exc:
        db.localize_assets(template_dir, vendor_dir=vendor)
    assert exc.value.code == db.EXIT_NOT_LOCAL
    assert "jquery.min.js" in str(exc.value)


def _loader_tags(text: str) -> int:
    return text.count(f'<script src="{db.FILE_LOADER_NAME}"')


def test_enable_file_urls_writes_data_scripts_and_hooks_the_loader_once(template_dir):
    (template_dir / "info.json").write_text('{"timestamp": 1}')
    graphs = template_dir / "graphs" / "machine-a b%c"
    graphs.mkdir(parents=True)
    text = '{"__proto__": [1, null], "s": "</script>\u2028\\\\ \\" é"}\n'
    json.loads(text)  # what asv would write: valid JSON
    (graphs / "x.json").write_text(text, encoding="utf-8")
    (template_dir / "vendor" / "pkg").mkdir(parents=True)
    (template_dir / "vendor" / "pkg" / "package.json").write_text("{}")
    stale = template_dir / db.FILE_DATA_SUBDIR / "gone.json.js"
    stale.parent.mkdir()
    stale.write_text("")

    assert db.enable_file_urls(template_dir) == 2
    data = template_dir / db.FILE_DATA_SUBDIR
    assert sorted(p.relative_to(data).as_posix() for p in data.rglob("*.js")) == [
        "graphs/machine-a b%c/x.json.js",
        "info.json.js",
    ]  # not vendor/'s package.json; the stale script is gone
    script = (data / "graphs/machine-a b%c/x.json.js").read_text()
    m = re.fullmatch(r'asvFileData\(("[^"]*"), (".*")\);\n', script)
    assert m and script.isascii()
    # The JSON text travels as a string, for jQuery to parse as it would an XHR response.
    assert json.loads(m.group(1)) == "graphs/machine-a b%c/x.json"
    assert json.loads(m.group(2)) == text
    page = (template_dir / "index.html").read_text()
    assert _loader_tags(page) == 1
    assert page.index(db.FILE_LOADER_NAME) < page.index('src="asv.js"')
    assert (template_dir / db.FILE_LOADER_NAME).read_bytes() == db.FILE_LOADER_SOURCE.read_bytes()
    # Running it again (--no-publish) refreshes the data but hooks the loader in only once.
    assert db.enable_file_urls(template_dir) == 2
    assert _loader_tags((template_dir / "index.html").read_text()) == 1


def test_enable_file_urls_needs_asv_js_in_the_page(template_dir):
    index = template_dir / "index.html"
    index.write_text(index.read_text().replace('src="asv.js"', 'src="renamed.js"'))
    with pytest.raises(db.DashboardError) as exc:
        db.enable_file_urls(template_dir)
    assert exc.value.code == db.EXIT_NOT_LOCAL
    assert "asv.js" in str(exc.value)


def test_find_external_refs_sees_css_urls(tmp_path):
    (tmp_path / "a.css").write_text("x{background:url('https://fonts.example/f.woff')}\n")
    (tmp_path / "b.css").write_text('@import "//cdn.example/y.css";\nz{background:url(img.png)}')
    urls = sorted(r.url for r in assets.find_external_refs(tmp_path))
    assert urls == ["//cdn.example/y.css", "https://fonts.example/f.woff"]


def test_main_without_results_exits_3(tmp_path, capsys):
    (tmp_path / "asv.conf.json").write_text(
        '{"version": 1, "repo": ".", "results_dir": "results", "html_dir": "html"}'
    )
    (tmp_path / "results").mkdir()
    assert db.main(["--config", str(tmp_path / "asv.conf.json")]) == db.EXIT_NO_RESULTS
    assert "no asv results" in capsys.readouterr().err


def test_main_with_a_missing_config_exits_2(tmp_path, capsys):
    assert db.main(["--config", str(tmp_path / "nope.json")]) == db.EXIT_CONFIG
    assert "cannot read asv config" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# A real asv project: 3 commits, each benchmarked, then published with the command

BENCHMARKS = '''
    """Trivial numba-free benchmarks, kept quick: one sample each."""

    FAST = {"repeat": 1, "number": 1, "warmup_time": 0, "rounds": 1}


    class TimeSum:
        params = [10, 1000]
        param_names = ["n"]

        def time_sum(self, n):
            sum(range(n * SCALE))


    def time_join():
        "".join(["a"] * 100 * SCALE)


    def track_items():
        return 3 * SCALE


    def time_never():
        # Never run (see _make_asv_project), so asv lists it but writes no graph for it.
        pass


    for _f in (TimeSum, time_join):
        for _k, _v in FAST.items():
            setattr(_f, _k, _v)
'''


def _make_asv_project(root: Path) -> Path:
    home = root / "home"
    home.mkdir(parents=True)
    env = _module_env(home)
    env.update(
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
    )  # fmt: skip
    proj = root / "proj"
    (proj / "benchmarks").mkdir(parents=True)
    (proj / "benchmarks" / "__init__.py").write_text("")
    (proj / ".gitignore").write_text("results/\nhtml/\n.asv/\n")
    conf = {
        "version": 1, "project": "tiny", "project_url": "", "repo": ".", "branches": ["main"],
        "dvcs": "git", "environment_type": "existing", "benchmark_dir": "benchmarks",
        "env_dir": ".asv/env", "results_dir": "results", "html_dir": "html",
    }  # fmt: skip
    (proj / "asv.conf.json").write_text(json.dumps(conf, indent=1))
    _run(["git", "init", "-q", "-b", "main"], proj, env)
    asv = [sys.executable, "-m", "asv"]
    _run([*asv, "machine", "--machine", "testbox", "--yes"], proj, env)
    for scale in (1, 3, 2):
        code = textwrap.dedent(BENCHMARKS).replace("FAST =", f"SCALE = {scale}\nFAST =")
        (proj / "benchmarks" / "bench_tiny.py").write_text(code)
        _run(["git", "add", "-A"], proj, env)
        _run(["git", "commit", "-q", "-m", f"scale {scale}"], proj, env)
        sha = _run(["git", "rev-parse", "HEAD"], proj, env).strip()
        run = [*asv, "run", "--python=same", "--machine", "testbox", "--set-commit-hash", sha]
        _run([*run, "--bench", "^(?!.*time_never)"], proj, env)  # time_never: no results
    return proj


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """(project dir, html dir) after `python -m autoresearch.dashboard` ran on it."""
    root = tmp_path_factory.mktemp("dashboard")
    override = os.environ.get("AUTORESEARCH_DASHBOARD_RESULTS")
    proj = Path(override).resolve() if override else _make_asv_project(root)
    html_dir = root / "html"  # never the project's own html/
    cmd = [sys.executable, "-m", "autoresearch.dashboard", "--config", str(proj / "asv.conf.json")]
    out = _run([*cmd, "--html-dir", str(html_dir)], proj, _module_env(root / "home"))
    assert "is self-contained" in out
    return proj, html_dir


def _benchmarks(html_dir: Path) -> list[str]:
    return sorted(json.loads((html_dir / "index.json").read_text())["benchmarks"])


def _with_data(html_dir: Path) -> list[str]:
    empty = set(db.benchmarks_without_data(html_dir))
    if empty:  # a real project may list benchmarks that never ran (e.g. peers not installed)
        print(f"benchmarks with no results, so no graph: {sorted(empty)}")
    if not os.environ.get("AUTORESEARCH_DASHBOARD_RESULTS"):
        assert empty == {"bench_tiny.time_never"}, "tiny project: all but time_never ran"
    return [name for name in _benchmarks(html_dir) if name not in empty]


def _plotted(html_dir: Path, benchmarks: list[str]) -> list[str]:
    """Those with a point to plot: a graph whose every value is NaN (a track_ab_ratio skipped on
    every commit, where no kernel changed) has a data file and a grid tile, but no point."""
    nan_only = [name for name in benchmarks if _all_nan(html_dir, name)]
    if nan_only:
        print(f"benchmarks whose results are all skipped (NaN), so no point: {nan_only}")
    return [name for name in benchmarks if name not in nan_only]


def _all_nan(html_dir: Path, name: str) -> bool:
    data = json.loads((html_dir / "graphs" / "summary" / f"{name}.json").read_text())
    return not any(isinstance(v, (int, float)) and v == v for _, v in data)


@pytest.mark.slow
def test_published_dashboard_is_self_contained(published):
    _, html_dir = published
    pages = sorted(p.name for p in html_dir.rglob("*.html"))
    assert "index.html" in pages
    assert assets.find_external_refs(html_dir) == []
    benchmarks = _with_data(html_dir)
    assert benchmarks
    for name in benchmarks:  # asv wrote the data behind each graph
        assert list(html_dir.glob(f"graphs/*/*/*/{name}.json")), name
    # ... and each JSON file is there again as a script, for file://.
    data = html_dir / db.FILE_DATA_SUBDIR
    json_files = {
        p.relative_to(html_dir).as_posix()
        for p in html_dir.rglob("*.json")
        if not p.is_relative_to(html_dir / db.HTML_VENDOR_SUBDIR)
    }
    assert {"info.json", "index.json", "regressions.json"} <= json_files
    assert {p.relative_to(data).as_posix() for p in data.rglob("*.js")} == {
        f"{name}.js" for name in json_files
    }
    assert _loader_tags((html_dir / "index.html").read_text()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_serves_the_dashboard_and_stops_cleanly_on_ctrl_c(published, sig):
    proj, html_dir = published
    cmd = [sys.executable, "-m", "autoresearch.dashboard", "--config", str(proj / "asv.conf.json")]
    cmd += ["--html-dir", str(html_dir), "--no-publish", "--serve", "--port", "0"]
    # Started as a script's background job starts it: SIGINT ignored (CI ran it so, and the
    # server never stopped: Python installs no KeyboardInterrupt for an ignored SIGINT). A small
    # launcher ignores it and execs the command (no preexec_fn: this process has threads).
    launch = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    launch += "os.execv(sys.argv[1], sys.argv[1:])"
    cmd = [sys.executable, "-c", launch, *cmd]
    proc = subprocess.Popen(cmd, cwd=proj, env=_module_env(), stdout=subprocess.PIPE, text=True)
    try:
        url = None
        for line in proc.stdout:
            if m := re.search(r"at (http://127\.0\.0\.1:\d+/)", line):
                url = m.group(1)
                break
        assert url, "no 'Serving ... at' line"
        with urllib.request.urlopen(url + "index.html", timeout=10) as resp:
            assert b"vendor/jquery-3.3.1/jquery.min.js" in resp.read()
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == db.EXIT_OK
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_serve_exits_5_when_the_port_is_taken(published, capsys):
    proj, html_dir = published
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        args = ["--config", str(proj / "asv.conf.json"), "--html-dir", str(html_dir)]
        args += ["--no-publish", "--serve", "--port", str(taken.getsockname()[1])]
        assert db.main(args) == db.EXIT_SERVE
    assert "cannot serve" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The dashboard in headless Chromium, driven over the DevTools protocol


_TRAMPOLINE = (
    "import fcntl, os, sys; a, b = (fcntl.fcntl(int(f), fcntl.F_DUPFD, 10) for f in sys.argv[1:3]);"
    " os.dup2(a, 3); os.dup2(b, 4); os.execvp(sys.argv[3], sys.argv[3:])"
)


class DevTools:
    """Chrome DevTools protocol over --remote-debugging-pipe (browser reads fd 3, writes fd 4,
    NUL-separated JSON), so no websocket client or webdriver is needed."""

    FLAGS = (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
        "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
        # Nothing but loopback resolves, so a stray CDN reference fails fast and is recorded.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    )  # fmt: skip

    def __init__(self, binary: str, profile: Path, log: Path):
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()
        # The browser wants the pipe at fds 3 and 4: a one-line Python trampoline puts it there
        # (moving both above 9 first, so neither dup2 can clobber the other) and execs it.
        cmd = [sys.executable, "-c", _TRAMPOLINE, str(to_browser), str(from_browser), binary]
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [*cmd, *self.FLAGS, f"--user-data-dir={profile}"],
                pass_fds=(to_browser, from_browser),
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
            )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            if select.select([self._in], [], [], left)[0]:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise EOFError("Chromium closed the DevTools pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params=None, session=None, timeout=30.0) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._out, data) :]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except (OSError, RuntimeError, TimeoutError, EOFError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._in)
        os.close(self._out)


class Page:
    def __init__(self, devtools: DevTools, width=1280, height=900):
        self.dt = devtools
        target = devtools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = devtools.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics)

    def call(self, method, params=None, timeout=30.0):
        return self.dt.send(method, params, self.session, timeout)

    def evaluate(self, expression: str):
        res = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression!r}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def goto(self, url: str):
        self.call("Page.navigate", {"url": url})

    def wait_for(self, expression: str, timeout=30.0, what=""):
        """Polls a JS expression returning {done, ...}; returns its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression) or {}
            if value.get("done") or value.get("error") or time.monotonic() > deadline:
                why = "failed" if value.get("error") else "timed out"
                assert value.get("done"), f"{why} waiting for {what}: {value}"
                return value
            time.sleep(0.25)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path


def requested_urls(events: list[dict]) -> list[str]:
    return [
        ev["params"]["request"]["url"]
        for ev in events
        if ev.get("method") == "Network.requestWillBeSent"
    ]


def browser_problems(events: list[dict]) -> tuple[list[str], list[str]]:
    """(console errors and failed loads, URLs requested from a host other than loopback)."""
    errors, remote = [], []
    urls = {}  # request id -> URL, to name the URL of a failed load
    for ev in events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            args = [a.get("value", a.get("description", "")) for a in p.get("args", [])]
            errors.append("console.error: " + " ".join(map(str, args)))
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            errors.append("exception: " + d.get("exception", {}).get("description", d["text"]))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            errors.append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            url = urls.get(p["requestId"], f"request {p['requestId']}")
            errors.append(f"load failed: {p['errorText']} {url}")
        elif method == "Network.responseReceived" and p["response"]["status"] >= 400:
            errors.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        elif method == "Network.requestWillBeSent":
            url = urls[p["requestId"]] = p["request"]["url"]
            parts = urlsplit(url)
            if parts.scheme not in ("data", "blob", "about", "file") and parts.hostname not in {
                h.strip("[]") for h in LOCAL_HOSTS
            }:
                remote.append(url)
    return errors, remote


# Per page: did asv's JS load (no redirect to error.html), did its data load (index.json: asv
# starts main_json as {}; no "Error fetching content" modal), and what has it drawn.
_READY = """\
  if (location.pathname.endsWith('error.html')) return {done: false, error: 'error.html'};
  if (typeof $ === 'undefined' || !$.asv) return {done: false};
  const shown = $('#error').is(':visible') ? $('#error-message').text() : '';
  if (shown.startsWith('Error fetching')) return {done: false, error: shown};
  if (!$.asv.main_json || !$.asv.main_json.benchmarks) return {done: false};"""

GRAPH_STATE = """(() => {
__READY__
  const g = $('#main-graph'), plot = g.data('plot');
  if (!plot || $('#title').text() !== __BENCH__) return {done: false, text: g.text().slice(0, 80)};
  const series = plot.getData();
  const points = series.reduce((n, s) => n + s.data.filter(d => d[1] !== null).length, 0);
  // flot draws series in colour and the frame in greys: count coloured pixels drawn.
  const c = g.find('canvas.flot-base')[0];
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let coloured = 0;
  for (let i = 0; i < px.length; i += 4)
    if (px[i + 3] > 0 && (px[i] !== px[i + 1] || px[i + 1] !== px[i + 2])) coloured++;
  return {done: points > 0 && coloured > 0, series: series.length, points, coloured,
          width: c.width, height: c.height};
})()"""

GRID_STATE = """(() => {
__READY__
  const plots = $('#summarygrid-display .benchmark-plot');
  // The grid draws a thumbnail when it scrolls into view: bring each one into view.
  plots.each(function () { this.scrollIntoView(); $(window).trigger('scroll'); });
  const drawn = plots.filter(function () { return !!$(this).data('plot'); }).length;
  return {done: plots.length === __N__ && drawn === __DRAWN__, plots: plots.length, drawn};
})()"""

LIST_STATE = """(() => {
__READY__
  const rows = $('#summarylist-body table tbody tr').length;
  return {done: $('#summarylist-display').is(':visible') && rows >= __N__, rows};
})()"""

# A benchmark with no graph data: asv's "No data" message, not its "web server has gone down".
NO_DATA_STATE = """(() => {
__READY__
  const message = $('#error-message').text();
  return {done: $('#error').is(':visible') && message.startsWith('No data'), message};
})()"""

REGRESSIONS_STATE = """(() => {
__READY__
  const body = $('#regressions-body');
  return {done: $('#regressions-display').is(':visible') && body.children().length > 0,
          text: body.text().replace(/\\s+/g, ' ').slice(0, 120)};
})()"""

GRAPH_STATE, GRID_STATE, LIST_STATE, NO_DATA_STATE, REGRESSIONS_STATE = (
    state.replace("__READY__", _READY)
    for state in (GRAPH_STATE, GRID_STATE, LIST_STATE, NO_DATA_STATE, REGRESSIONS_STATE)
)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def dashboard_url(published):
    _, html_dir = published
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


def _chromium() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["http", "file"])
def test_dashboard_in_headless_chromium(published, scheme, request, tmp_path, record_property):
    """The dashboard as served (--serve) and opened as a file (file://, no server running)."""
    binary = _chromium()
    if not binary:
        pytest.skip(
            "chromium is not installed (apt-get install chromium); set CHROMIUM to use another"
        )
    _, html_dir = published
    if scheme == "http":
        dashboard_url = request.getfixturevalue("dashboard_url")
    else:
        dashboard_url = (html_dir / "index.html").as_uri()
    benchmarks = _with_data(html_dir)
    without_data = db.benchmarks_without_data(html_dir)
    # asv still asks for graph data of benchmarks with none (grid thumbnails, their pages): the
    # 404s (over file://, missing data scripts) that follow are asv's doing and expected; any
    # other failed load is not.
    no_data = [re.escape(f"/{n}.json") + r"(\.js)?(\?|\s|$)" for n in without_data]
    shots = Path(os.environ.get("AUTORESEARCH_DASHBOARD_SHOTS") or tmp_path / "screenshots")
    shots = shots / scheme
    shots.mkdir(parents=True, exist_ok=True)
    saved = []

    devtools = DevTools(binary, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        page = Page(devtools)
        n = str(len(benchmarks))
        # A distinct query string per visit forces a full page load (a new #hash alone would not).
        page.goto(f"{dashboard_url}?grid#/")
        grid_state = GRID_STATE.replace("__N__", str(len(_benchmarks(html_dir))))
        grid = page.wait_for(grid_state.replace("__DRAWN__", n), what="summary grid")
        page.evaluate("window.scrollTo(0, 0), null")
        saved.append(page.screenshot(shots / "grid.png"))

        graphs = {}
        for i, name in enumerate(_plotted(html_dir, benchmarks)):
            page.goto(f"{dashboard_url}?graph{i}#{quote(name, safe='.-_')}")
            state = GRAPH_STATE.replace("__BENCH__", json.dumps(name))
            graphs[name] = page.wait_for(state, what=f"graph of {name}")
            safe = re.sub(r"[^\w.-]+", "_", name)
            saved.append(page.screenshot(shots / f"graph-{safe}.png"))

        if without_data:
            page.goto(f"{dashboard_url}?nodata#{quote(without_data[0], safe='.-_')}")
            page.wait_for(NO_DATA_STATE, what=f"'No data' for {without_data[0]}")
            saved.append(page.screenshot(shots / "no-data.png"))

        page.goto(f"{dashboard_url}?list#/summarylist")
        page.wait_for(LIST_STATE.replace("__N__", n), what="benchmark list")
        saved.append(page.screenshot(shots / "summarylist.png"))
        page.goto(f"{dashboard_url}?regressions#/regressions")
        page.wait_for(REGRESSIONS_STATE, what="regressions view")
        saved.append(page.screenshot(shots / "regressions.png"))
    finally:
        devtools.close()

    record_property("screenshots", str(shots))
    print(f"dashboard screenshots ({scheme}): {shots} ({len(saved)} PNGs)")
    assert grid["drawn"] == len(benchmarks)
    assert set(graphs) == set(_plotted(html_dir, benchmarks))
    errors, remote = browser_problems(devtools.events)
    errors = [e for e in errors if not any(re.search(pattern, e) for pattern in no_data)]
    assert remote == [], "requests to hosts other than loopback"
    assert errors == [], "console errors or failed loads"
    urls = requested_urls(devtools.events)
    data_scripts = [u for u in urls if f"/{db.FILE_DATA_SUBDIR}/" in u]
    if scheme == "file":
        # Nothing over the network: the data came from the data scripts.
        assert {urlsplit(u).scheme for u in urls} <= {"file", "data", "about"}
        for key in ("info.json", "index.json", "regressions.json", "graphs/summary/"):
            assert any(f"/{db.FILE_DATA_SUBDIR}/{key}" in u for u in data_scripts), key
    else:
        assert data_scripts == [], "over http the loader must stay out of the way"
        assert any(urlsplit(u).path.endswith("/index.json") for u in urls)
    for path in saved:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
