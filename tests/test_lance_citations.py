"""Every Lance source path the capsules and program.md files cite is in docs/lance-citations.md,
the list of citations checked at the tag of the pinned pylance, and names one of its functions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autoresearch import TARGETS
from autoresearch.lance_checks import PINNED_PYLANCE, pylance_version

ROOT = Path(__file__).resolve().parents[1]
CITATIONS = ROOT / "docs" / "lance-citations.md"
DOCS = [ROOT / "docs" / "targets" / f"{t}.md" for t in TARGETS] + [
    ROOT / "autoresearch" / t / "program.md" for t in TARGETS
]
ROW = re.compile(r"^\| `([^`]+\.rs)` \| (.+?) \| (.+?) \|$", re.MULTILINE)
SOURCE_PATH = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.rs)\b")


def citation_tables() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(Lance path -> names, other project's path -> names) from docs/lance-citations.md."""
    text = CITATIONS.read_text()
    lance_part, _, other_part = text.partition("## Other projects")

    def rows(part):
        return {path: re.findall(r"`([^`]+)`", names) for path, names, _ in ROW.findall(part)}

    return rows(lance_part), rows(other_part)


def test_the_list_names_the_tag_of_the_pinned_pylance():
    assert f"Tag: **v{PINNED_PYLANCE}**" in CITATIONS.read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"pylance=={PINNED_PYLANCE}"' in pyproject
    lance, other = citation_tables()
    assert lance and other
    assert all(names for names in lance.values()), "every cited file names a function"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_lance_path_is_listed_and_names_a_function(doc):
    lance, other = citation_tables()
    text = doc.read_text()
    cited = SOURCE_PATH.findall(text)
    full = {p for p in cited if p.startswith("rust/")}
    problems = []
    for path in sorted(full - lance.keys()):
        problems.append(f"{path} is not in docs/lance-citations.md")
    for path in sorted(full & lance.keys()):
        names = lance[path]
        if not any(n in text or n.split("::")[-1] in text for n in names):
            problems.append(f"{path} is cited without one of its functions {names}")
    for path in sorted(set(cited) - full):
        if path.startswith(("rust/", "lance/", "lance-")):
            problems.append(f"{path}: cite Lance files by their full path from rust/")
            continue
        tails = [p for p in (full | other.keys()) if p == path or p.endswith("/" + path)]
        if not tails:
            problems.append(f"{path} is neither the tail of a full path this file cites nor listed")
    assert not problems, "\n".join(problems)


def test_no_listed_path_is_left_uncited():
    lance, _ = citation_tables()
    cited = set()
    for doc in DOCS:
        cited |= set(SOURCE_PATH.findall(doc.read_text()))
    assert not sorted(set(lance) - cited)


@pytest.mark.skipif(
    pylance_version() != PINNED_PYLANCE, reason=f"needs pylance {PINNED_PYLANCE} installed"
)
def test_every_listed_path_is_in_the_pinned_pylance_build():
    """The paths occur in pylance's compiled extension (Rust's panic locations): the files are
    part of the release the tag names."""
    import lance

    module = next(Path(lance.__file__).parent.glob("lance*.so"), None) or next(
        Path(lance.__file__).parent.glob("lance*.pyd")
    )
    built = set(re.findall(rb"rust/[\w./-]+?\.rs", module.read_bytes()))
    lance_paths, _ = citation_tables()
    missing = [p for p in lance_paths if p.encode() not in built]
    assert not missing, f"not in pylance {PINNED_PYLANCE}'s build: {missing}"
