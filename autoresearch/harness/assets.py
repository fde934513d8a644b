"""The dashboard's assets: the JS/CSS packages asv's pages load from CDNs, the licensed copies
kept in autoresearch/_vendor_assets/ (SHA256SUMS), finding a page's external references and
pointing them at those copies (autoresearch.dashboard is the command; docs/dashboard.md says why
the copies live in the repository).
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

# The exit codes DashboardError carries (autoresearch.dashboard exits with them).
EXIT_FAILED = 1  # --update-vendor failed
EXIT_NOT_LOCAL = 4  # the html could not be made self-contained

VENDOR_DIR = Path(__file__).parents[1] / "_vendor_assets"
SUMS_NAME = "SHA256SUMS"
# Where the copies go inside the published html directory.
HTML_VENDOR_SUBDIR = "vendor"
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


def scan_tags(text: str) -> list[_Tag]:
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
        for tag in scan_tags(text)
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
        for tag in scan_tags(text):
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
