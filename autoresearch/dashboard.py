"""Publish the asv results as a self-contained dashboard: ``python -m autoresearch.dashboard``.

``asv publish`` writes an html/ directory whose pages load jQuery, flot, bootstrap, stupidtable
and blueimp-md5 from public CDNs, so the dashboard is blank offline. This command runs
``asv publish`` and then points every external ``<script src>``/``<link href>`` at a local
copy under ``html/vendor/``, taken from the licensed copies kept in ``_vendor_assets/`` (see
docs/dashboard.md for why they are kept in the repository rather than fetched at build time).
It also makes the page open from ``file://`` (browsers refuse asv's XHR for its JSON there):
each JSON file is written again as a script under ``html/file-data/``, and a small loader
(``_dashboard_file_loader.js``) serves asv's requests from those when the page is a file.

Exit codes: 0 ok (or ``--serve`` stopped with Ctrl-C); 1 ``asv publish`` or ``--update-vendor``
failed; 2 unreadable asv config; 3 no results to publish; 4 the html could not be
made self-contained (an external reference with no local copy, or a vendored file missing,
corrupt or not matching the page's integrity hash, or an index.html with no asv.js to hook the
file:// loader in front of); 5 ``--serve`` could not bind its address; 64 bad usage.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from autoresearch.harness import cli

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2  # an unreadable asv config, or nothing to localize
EXIT_NO_RESULTS = 3
EXIT_NOT_LOCAL = 4
EXIT_SERVE = 5

VENDOR_DIR = Path(__file__).with_name("_vendor_assets")
SUMS_NAME = "SHA256SUMS"
# Where the copies go inside the published html directory.
HTML_VENDOR_SUBDIR = "vendor"
# file:// support: the loader script (source, and its name in html/), and the directory of
# html/ holding each JSON file as a script. The loader has the directory's name written in.
FILE_LOADER_SOURCE = Path(__file__).with_name("_dashboard_file_loader.js")
FILE_LOADER_NAME = "file-data-loader.js"
FILE_DATA_SUBDIR = "file-data"

_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs/"
_JSDELIVR = "https://cdn.jsdelivr.net/npm/"
_ORDERBARS = "jquery.flot.orderBars.js"


# eq=False: hashed by identity, so packages can go in a set despite their dict of files.
@dataclass(frozen=True, eq=False)
class VendorPackage:
    """One npm package version and the files of it that asv's pages need.

    ``files`` maps a path inside the package to the CDN URL it stands in for, or to None for a
    file that another one loads by a relative path (bootstrap's fonts, a source map).
    ``same_as_cdn`` says the local copies are byte-identical to the CDN's, so the pages'
    integrity hashes are checked against them at build time; otherwise they cannot match.
    """

    spec: str
    license: str
    files: dict[str, str | None]
    same_as_cdn: bool = True
    note: str = ""

    @property
    def dirname(self) -> str:
        return self.spec.replace("@", "-")

    def local(self, rel: str) -> str:
        """Where a package file lives in _vendor_assets/ and html/vendor/. A leading dist/ is
        dropped: the repository's .gitignore ignores every dist/ directory (bootstrap's css
        still finds its ../fonts/, which moves up with it)."""
        return f"{self.dirname}/{rel.removeprefix('dist/')}"


# The versions are the ones asv 0.6.6's www/index.html references (read from its published
# index.html). Each was checked against the page's SRI hash when vendored.
PACKAGES: tuple[VendorPackage, ...] = (
    VendorPackage(
        "jquery@3.3.1",
        "LICENSE.txt",
        {"dist/jquery.min.js": "https://code.jquery.com/jquery-3.3.1.min.js"},
    ),
    VendorPackage(
        "flot@0.8.3",
        "LICENSE.txt",
        {
            f"jquery.flot{part}.js": f"{_CDNJS}flot/0.8.3/jquery.flot{part}.min.js"
            for part in ("", ".time", ".selection", ".categories")
        },
        same_as_cdn=False,
        note="npm has only the unminified 0.8.3 sources; cdnjs serves its own minified build",
    ),
    VendorPackage(
        "flot-orderbars@1.0.0",
        # The package has no LICENSE file: its package.json declares MIT and the script's
        # header carries the notice.
        "package.json",
        {f"js/{_ORDERBARS}": f"{_JSDELIVR}flot-orderbars@1.0.0/js/{_ORDERBARS}"},
    ),
    VendorPackage(
        "stupid-table-plugin@1.1.3",
        "LICENSE",
        {"stupidtable.min.js": f"{_CDNJS}stupidtable/1.0.1/stupidtable.min.js"},
        same_as_cdn=False,
        note="1.0.1 is on no package registry (npm and Debian have only 1.1.3); 1.1.x keeps the "
        "stupidtable()/stupidsort() API asv uses",
    ),
    VendorPackage(
        "blueimp-md5@2.19.0",
        "LICENSE.txt",
        {
            "js/md5.min.js": f"{_CDNJS}blueimp-md5/2.19.0/js/md5.min.js",
            "js/md5.min.js.map": None,
        },
    ),
    VendorPackage(
        "bootstrap@3.1.1",
        "LICENSE",
        {
            "dist/js/bootstrap.min.js": f"{_JSDELIVR}bootstrap@3.1.1/dist/js/bootstrap.min.js",
            "dist/css/bootstrap.min.css": f"{_JSDELIVR}bootstrap@3.1.1/dist/css/bootstrap.min.css",
            # bootstrap.min.css loads these through url(../fonts/...).
            **{
                f"dist/fonts/glyphicons-halflings-regular.{ext}": None
                for ext in ("eot", "svg", "ttf", "woff")
            },
        },
    ),
)


class DashboardError(Exception):
    """A failure with a message for the user and the exit code it maps to."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ExternalRef:
    """A resource the page would load from another host."""

    file: Path
    line: int
    tag: str
    attr: str
    url: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: <{self.tag} {self.attr}={self.url!r}>"


@dataclass(frozen=True)
class Rewrite:
    """One external reference replaced by a local copy."""

    file: Path
    url: str
    local: str
    # The page's integrity hash: "checked" against the local copy at build time, "other-build"
    # (the copy is another build of the same version, so it cannot match) or "none". Either
    # way it is removed from the page, see localize_assets.
    integrity: str


# --------------------------------------------------------------------------------------------
# Finding external references


def is_external(url: str) -> bool:
    """True for a URL that names a host (``https://...``, ``//host/...``), i.e. not in html/."""
    return bool(urlsplit(url.strip()).netloc)


def _resource_attrs(tag: str) -> tuple[str, ...]:
    # Attributes that make the browser fetch something. <a href> only navigates, so it is not
    # one (asv's navbar links to its GitHub page on purpose).
    if tag == "link":
        return ("href",)
    if tag == "object":
        return ("data",)
    return ("src", "srcset")


@dataclass
class _Tag:
    name: str
    attrs: list[tuple[str, str | None]]
    start: int
    raw: str
    line: int


class _TagScanner(HTMLParser):
    """Collects start tags with their exact offsets so they can be rewritten in place."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.tags: list[_Tag] = []

    def handle_starttag(self, tag, attrs):
        line, col = self.getpos()
        raw = self.get_starttag_text() or ""
        self.tags.append(_Tag(tag, list(attrs), self._line_starts[line - 1] + col, raw, line))


def _scan_tags(text: str) -> list[_Tag]:
    scanner = _TagScanner(text)
    scanner.feed(text)
    scanner.close()
    for tag in scanner.tags:
        if text[tag.start : tag.start + len(tag.raw)] != tag.raw:
            raise AssertionError(f"lost track of <{tag.name}> at line {tag.line}")
    return scanner.tags


def _external_in_tag(tag: _Tag) -> list[tuple[str, str]]:
    found = []
    for name, value in tag.attrs:
        if value is None or name not in _resource_attrs(tag.name):
            continue
        urls = (
            [c.split()[0] for c in value.split(",") if c.strip()] if name == "srcset" else [value]
        )
        found += [(name, u) for u in urls if is_external(u)]
    return found


_CSS_EXTERNAL = re.compile(
    r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:[a-z][a-z0-9+.-]*:)?//[^'")\s]+)""", re.IGNORECASE
)


def find_external_refs_in_file(path: Path) -> list[ExternalRef]:
    """External resource references in one html or css file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".css":
        return [
            ExternalRef(path, text.count("\n", 0, m.start()) + 1, "css", "url", m.group(1))
            for m in _CSS_EXTERNAL.finditer(text)
        ]
    return [
        ExternalRef(path, tag.line, tag.name, attr, url)
        for tag in _scan_tags(text)
        for attr, url in _external_in_tag(tag)
    ]


def find_external_refs(html_dir: Path) -> list[ExternalRef]:
    """Every external resource reference left in the html and css files under ``html_dir``."""
    files = sorted([*Path(html_dir).rglob("*.htm*"), *Path(html_dir).rglob("*.css")])
    return [ref for path in files for ref in find_external_refs_in_file(path)]


# --------------------------------------------------------------------------------------------
# Vendored copies


def url_map(packages=PACKAGES) -> dict[str, tuple[VendorPackage, str]]:
    """CDN URL -> (package, path inside it)."""
    return {url: (pkg, path) for pkg in packages for path, url in pkg.files.items() if url}


def _normalize(url: str) -> str:
    url = url.strip()
    return "https:" + url if url.startswith("//") else url


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_sums(vendor_dir: Path) -> dict[str, str]:
    sums = {}
    for line in (vendor_dir / SUMS_NAME).read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def verify_vendor_assets(vendor_dir: Path = VENDOR_DIR, packages=PACKAGES) -> list[str]:
    """Problems with the vendored files (missing, or not matching SHA256SUMS); [] if none."""
    if not (vendor_dir / SUMS_NAME).is_file():
        return [f"{vendor_dir / SUMS_NAME} is missing"]
    sums = read_sums(vendor_dir)
    problems = []
    for pkg in packages:
        for rel in [*pkg.files, pkg.license]:
            name = pkg.local(rel)
            path = vendor_dir / name
            if not path.is_file():
                problems.append(f"{path} is missing")
            elif sums.get(name) != _sha256(path):
                problems.append(f"{path} does not match {SUMS_NAME}")
    return problems


def _integrity_matches(integrity: str, data: bytes) -> bool:
    # SRI: whitespace-separated "alg-base64digest" tokens, any one of which may match.
    for token in integrity.split():
        alg, _, digest = token.partition("-")
        if alg in ("sha256", "sha384", "sha512"):
            ours = base64.b64encode(hashlib.new(alg, data).digest()).decode()
            if ours == digest.split("?")[0]:
                return True
    return False


def _render_tag(tag: _Tag, attrs: list[tuple[str, str | None]]) -> str:
    parts = [f"<{tag.name}"]
    for name, value in attrs:
        parts.append(f" {name}" if value is None else f' {name}="{html.escape(value)}"')
    parts.append(" />" if tag.raw.rstrip().endswith("/>") else ">")
    return "".join(parts)


def localize_assets(html_dir: Path, vendor_dir: Path = VENDOR_DIR, packages=PACKAGES):
    """Point every external script/stylesheet in ``html_dir``'s pages at a local copy.

    Copies the needed vendored packages (with their licences) to ``html_dir/vendor/`` and
    rewrites the tags in place. Nothing is written unless every reference can be localized.
    Returns the list of Rewrite; raises DashboardError(EXIT_NOT_LOCAL) otherwise.
    """
    html_dir = Path(html_dir)
    known = url_map(packages)
    unresolved: list[ExternalRef] = []
    rewrites: list[Rewrite] = []
    new_texts: dict[Path, str] = {}
    needed: set[VendorPackage] = set()
    problems: list[str] = []

    for path in sorted(html_dir.rglob("*.htm*")):
        text = path.read_text(encoding="utf-8")
        edits = []  # (start, end, replacement)
        for tag in _scan_tags(text):
            external = _external_in_tag(tag)
            if not external:
                continue
            attrs = list(tag.attrs)
            for attr, url in external:
                hit = known.get(_normalize(url)) if attr != "srcset" else None
                if hit is None:
                    unresolved.append(ExternalRef(path, tag.line, tag.name, attr, url))
                    continue
                pkg, rel = hit
                needed.add(pkg)
                target = html_dir / HTML_VENDOR_SUBDIR / pkg.local(rel)
                local = Path(os.path.relpath(target, path.parent)).as_posix()
                integrity = dict(attrs).get("integrity")
                # integrity and crossorigin go: opened from file:// (each file its own opaque
                # origin), Chromium refuses a crossorigin script or stylesheet outright and
                # blocks one with an integrity hash it cannot check without CORS.
                attrs = [
                    (n, local if n == attr else v)
                    for n, v in attrs
                    if n not in ("integrity", "crossorigin")
                ]
                status = "none"
                source = vendor_dir / pkg.local(rel)
                if integrity is not None and pkg.same_as_cdn:
                    # Checked here instead. A missing copy is reported by
                    # verify_vendor_assets below.
                    if source.is_file() and not _integrity_matches(integrity, source.read_bytes()):
                        problems.append(f"{path}: {url} integrity does not match {pkg.local(rel)}")
                    status = "checked"
                elif integrity is not None:
                    # A different build of the same version: the CDN file's hash cannot hold.
                    status = "other-build"
                rewrites.append(Rewrite(path, url, local, status))
            edits.append((tag.start, tag.start + len(tag.raw), _render_tag(tag, attrs)))
        if edits:
            for start, end, new in reversed(edits):
                text = text[:start] + new + text[end:]
            new_texts[path] = text

    if unresolved:
        raise DashboardError(
            "external references with no vendored copy (add them to PACKAGES in "
            "autoresearch/dashboard.py and run --update-vendor):\n  "
            + "\n  ".join(map(str, unresolved)),
            EXIT_NOT_LOCAL,
        )
    problems = verify_vendor_assets(vendor_dir, sorted(needed, key=lambda p: p.spec)) + problems
    if problems:
        raise DashboardError(
            "vendored assets are not usable:\n  " + "\n  ".join(problems), EXIT_NOT_LOCAL
        )

    for pkg in needed:
        for rel in [*pkg.files, pkg.license]:
            dest = html_dir / HTML_VENDOR_SUBDIR / pkg.local(rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(vendor_dir / pkg.local(rel), dest)
    for path, text in new_texts.items():
        path.write_text(text, encoding="utf-8")

    left = find_external_refs(html_dir)
    if left:
        raise DashboardError(
            "external references left after localizing:\n  " + "\n  ".join(map(str, left)),
            EXIT_NOT_LOCAL,
        )
    return rewrites


def refresh_vendor_assets(vendor_dir: Path = VENDOR_DIR, packages=PACKAGES, npm: str = "npm"):
    """Maintainers only: re-fetch the vendored files from the npm registry and rewrite
    SHA256SUMS. Needs ``npm`` and the registry; the dashboard build itself needs neither."""
    vendor_dir.mkdir(parents=True, exist_ok=True)
    sums = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in packages:
            out = subprocess.run(
                [npm, "pack", pkg.spec, "--pack-destination", tmp, "--silent"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            with tarfile.open(Path(tmp) / out[-1]) as tar:
                shutil.rmtree(vendor_dir / pkg.dirname, ignore_errors=True)
                for rel in sorted({*pkg.files, pkg.license}):
                    try:
                        member = tar.extractfile(f"package/{rel}")
                    except KeyError:
                        member = None
                    if member is None:
                        raise DashboardError(f"{pkg.spec} has no file {rel}", EXIT_FAILED)
                    dest = vendor_dir / pkg.local(rel)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(member.read())
                    sums.append(f"{_sha256(dest)}  {pkg.local(rel)}")
    (vendor_dir / SUMS_NAME).write_text("\n".join(sorted(sums, key=lambda s: s[66:])) + "\n")


# --------------------------------------------------------------------------------------------
# Opening from file://


def _data_script(key: str, text: str) -> str:
    # The JSON as a JS string literal (ensure_ascii: plain ASCII, U+2028 escaped), parsed by
    # jQuery exactly like an XHR response: not as a JS object literal, whose semantics differ
    # (a "__proto__" key).
    return f"asvFileData({json.dumps(key)}, {json.dumps(text)});\n"


def enable_file_urls(html_dir: Path) -> int:
    """Make ``html_dir/index.html`` work when opened as a file, not only over http.

    Writes every JSON file under ``html_dir`` (but vendor/) as ``file-data/<path>.js``, copies
    the loader and puts its ``<script>`` just before asv.js's (once). Over http the loader does
    nothing. Returns the number of data scripts; raises DashboardError(EXIT_NOT_LOCAL) when
    index.html has no asv.js script to put it before.
    """
    html_dir = Path(html_dir)
    index = html_dir / "index.html"
    text = index.read_text(encoding="utf-8")
    srcs = [
        (tag, (dict(tag.attrs).get("src") or "").strip())
        for tag in _scan_tags(text)
        if tag.name == "script"
    ]
    if not any(src == FILE_LOADER_NAME for _, src in srcs):
        asv_js = [tag for tag, src in srcs if src == "asv.js"]
        if not asv_js:
            raise DashboardError(
                f"{index}: no <script src=asv.js> to load {FILE_LOADER_NAME} before, so the page "
                "would not open from file:// (has asv's page changed?)",
                EXIT_NOT_LOCAL,
            )
        at = asv_js[0].start
        tag = f'<script src="{FILE_LOADER_NAME}" onerror="js_load_failure()"></script>\n    '
        index.write_text(text[:at] + tag + text[at:], encoding="utf-8")
    shutil.copyfile(FILE_LOADER_SOURCE, html_dir / FILE_LOADER_NAME)

    out_dir = html_dir / FILE_DATA_SUBDIR
    shutil.rmtree(out_dir, ignore_errors=True)
    skip = (html_dir / HTML_VENDOR_SUBDIR, out_dir)
    count = 0
    for path in sorted(html_dir.rglob("*.json")):
        if any(path.is_relative_to(d) for d in skip) or not path.is_file():
            continue
        key = path.relative_to(html_dir).as_posix()
        dest = out_dir / f"{key}.js"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(_data_script(key, path.read_text(encoding="utf-8")), encoding="utf-8")
        count += 1
    return count


# --------------------------------------------------------------------------------------------
# asv publish and serving


@dataclass
class AsvProject:
    config: Path
    results_dir: Path
    html_dir: Path


def load_project(config: Path, html_dir: Path | None = None) -> AsvProject:
    """Read the asv config; its relative paths are relative to the config's directory here
    (asv itself takes them relative to the working directory, so publish runs there)."""
    from asv.config import Config
    from asv.util import UserError

    config = Path(config).resolve()
    try:
        conf = Config.load(str(config))
    except (UserError, OSError, ValueError) as exc:
        raise DashboardError(f"cannot read asv config {config}: {exc}", EXIT_CONFIG) from exc
    root = config.parent
    return AsvProject(
        config=config,
        results_dir=root / conf.results_dir,
        html_dir=Path(html_dir).resolve() if html_dir else root / conf.html_dir,
    )


def find_result_files(results_dir: Path) -> list[Path]:
    """asv result files: results/<machine>/<commit>-<env>.json, not machine.json."""
    if not results_dir.is_dir():
        return []
    return sorted(p for p in results_dir.glob("*/*.json") if p.name != "machine.json")


def publish(project: AsvProject, extra: list[str] = ()) -> None:
    if not find_result_files(project.results_dir):
        raise DashboardError(
            f"no asv results in {project.results_dir}: run the benchmarks first, then publish",
            EXIT_NO_RESULTS,
        )
    cmd = [sys.executable, "-m", "asv", "publish", "--config", str(project.config)]
    cmd += ["--html-dir", str(project.html_dir), *extra]
    proc = subprocess.run(cmd, cwd=project.config.parent, check=False)
    if proc.returncode != 0:
        raise DashboardError(f"asv publish failed (exit {proc.returncode})", EXIT_FAILED)


def serve(html_dir: Path, host: str, port: int) -> None:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(html_dir))
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise DashboardError(f"cannot serve on {host}:{port}: {exc}", EXIT_SERVE) from exc
    with server:
        url_host = f"[{host}]" if ":" in host else host
        print(
            f"Serving {html_dir} at http://{url_host}:{server.server_address[1]}/ (Ctrl-C stops)",
            flush=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def benchmarks_without_data(html_dir: Path) -> list[str]:
    """Benchmarks asv lists but has no result for (e.g. always skipped): asv writes no graph
    for them, so their pages show its "No data" message instead of a plot."""
    index = json.loads((Path(html_dir) / "index.json").read_text(encoding="utf-8"))
    summary = Path(html_dir) / "graphs" / "summary"
    return sorted(name for name in index["benchmarks"] if not (summary / f"{name}.json").is_file())


def build(config: Path, html_dir: Path | None, extra: list[str], run_publish: bool = True):
    """Publish (unless told not to), localize and enable file://; returns (project, rewrites)."""
    project = load_project(config, html_dir)
    if run_publish:
        publish(project, extra)
    elif not (project.html_dir / "index.html").is_file():
        raise DashboardError(f"{project.html_dir} has no index.html to localize", EXIT_CONFIG)
    rewrites = localize_assets(project.html_dir)
    enable_file_urls(project.html_dir)
    return project, rewrites


def _parser() -> argparse.ArgumentParser:
    p = cli.UsageParser(
        "python -m autoresearch.dashboard",
        formatter_class=argparse.HelpFormatter,
        description="Run `asv publish` and make the html self-contained (no CDN needed; opens "
        "from file:// or with --serve). Arguments not listed here (e.g. a commit range, "
        "--no-pull, -v) go to asv publish.",
        epilog="exit codes: 0 ok; 1 asv publish (or --update-vendor) failed; 2 config error; "
        "3 no results; 4 html not made self-contained; 5 --serve could not bind; 64 bad usage",
    )
    p.add_argument("--config", type=Path, default=Path("asv.conf.json"), help="asv config file")
    p.add_argument(
        "--html-dir", "-o", type=Path, help="output directory (default: html_dir of config)"
    )
    p.add_argument(
        "--no-publish",
        action="store_true",
        help="only localize an existing html dir (and make it open from file://)",
    )
    p.add_argument("--serve", action="store_true", help="serve the result until Ctrl-C")
    p.add_argument("--host", default="127.0.0.1", help="address for --serve (default %(default)s)")
    p.add_argument("--port", type=int, default=8080, help="port for --serve, 0 picks a free one")
    p.add_argument(
        "--update-vendor",
        action="store_true",
        help="maintainers: re-fetch the vendored assets from the npm registry and exit",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args, extra = _parser().parse_known_args(argv)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    try:
        if args.update_vendor:
            try:
                refresh_vendor_assets()
            except (OSError, subprocess.CalledProcessError, tarfile.TarError) as exc:
                raise DashboardError(f"--update-vendor failed: {exc}", EXIT_FAILED) from exc
            print(f"refreshed {VENDOR_DIR}; review with git diff")
            return EXIT_OK
        project, rewrites = build(args.config, args.html_dir, extra, not args.no_publish)
        checked = sum(r.integrity == "checked" for r in rewrites)
        index = project.html_dir / "index.html"
        print(
            f"dashboard: {index} is self-contained ({len(rewrites)} references localized, "
            f"{checked} with their integrity hash checked); open {index.as_uri()} or use --serve"
        )
        empty = benchmarks_without_data(project.html_dir)
        if empty:
            print(f"dashboard: note: no results yet (no graph) for {', '.join(empty)}")
        if args.serve:
            serve(project.html_dir, args.host, args.port)
    except DashboardError as exc:
        print(f"dashboard: error: {exc}", file=sys.stderr)
        return exc.code
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
