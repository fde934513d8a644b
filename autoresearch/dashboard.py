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
import functools
import json
import shutil
import signal
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from autoresearch.harness import cli
from autoresearch.harness.assets import (
    EXIT_FAILED,
    EXIT_NOT_LOCAL,
    HTML_VENDOR_SUBDIR,
    VENDOR_DIR,
    DashboardError,
    localize_assets,
    refresh_vendor_assets,
    scan_tags,
)

EXIT_OK = 0
EXIT_CONFIG = 2  # an unreadable asv config, or nothing to localize
EXIT_NO_RESULTS = 3
EXIT_SERVE = 5

# file:// support: the loader script (source, and its name in html/), and the directory of
# html/ holding each JSON file as a script. The loader has the directory's name written in.
FILE_LOADER_SOURCE = Path(__file__).with_name("_dashboard_file_loader.js")
FILE_LOADER_NAME = "file-data-loader.js"
FILE_DATA_SUBDIR = "file-data"

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
        for tag in scan_tags(text)
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
        # Ctrl-C and SIGTERM stop it cleanly, also where the shell started it with SIGINT ignored
        # (a background job of a script: Python then never installs its KeyboardInterrupt).
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _stop_serving)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def _stop_serving(signum, frame) -> None:
    raise KeyboardInterrupt


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
