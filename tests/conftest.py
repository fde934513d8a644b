"""The test session runs with the thread settings of asv's benchmark processes, set before numba
loads: numba re-reads the environment at each compile and refuses a thread count that differs
from the one its pool launched with, so a test importing `benchmarks` (which sets them) after
numba started its threads made the next cold compile raise.

Tests marked `slow` (real asv runs, experiments in clones, one oracle process per red-team kernel)
are left out of a plain `pytest` run so it stays a quick check; `--runslow` runs them too (what CI
runs, README.md). An explicit `-m` expression selects by itself (`-m slow` runs only those)."""

import os

import pytest

from autoresearch.kernel_process import KERNEL_ENV

os.environ.update(KERNEL_ENV)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow", action="store_true", help="also run the tests marked slow (the full suite)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow") or config.option.markexpr:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
