"""numba's on-disk cache for the targets' kernels.py, keyed by content instead of path.

numba files a cached function under a folder named from its source file's directory, and stamps it
with the file's content hash. A decision compiles its candidate twice: once in the oracle's kernel
process (the clone's kernels.py) and again in asv's first benchmark process (asv's checkout of the
same commit, another path): 3-4 s each for bm25 and topk_merge, about half of what is left over 30
s. `KernelLocator` files `autoresearch.<target>.kernels` under its module name instead, so any
process with the same cache folder (the experiment runs the oracle with asv's environment's state
folder: bench.asv_state_env) loads what another compiled from the same source. The stamp is
still the content hash: another kernel with the same name is a miss, never the wrong code. Every
other function (references, baselines' copies under their own names) keeps numba's locators.

`share_kernel_cache()` puts it first in numba's list of locators, in this process only (not
through NUMBA_CACHE_LOCATOR_CLASSES, which children that never import the package would inherit);
abtest.py calls it on import, which benchmarks/__init__.py makes first in asv's benchmark
processes, the oracle's kernel process (it imports the suites first) and the calibration's and
quick look's: before any kernel is imported.
"""

from __future__ import annotations

import os
import re

from numba.core import caching, config
from numba.core.caching import UserProvidedCacheLocator

from autoresearch import TARGETS

_KERNEL_MODULE = re.compile(r"^autoresearch\.(\w+)\.kernels$")


def kernel_target(py_func, py_file: str) -> str | None:
    """The target whose kernels.py defines `py_func`, or None (not a target's kernel module)."""
    match = _KERNEL_MODULE.match(getattr(py_func, "__module__", "") or "")
    if match is None or match.group(1) not in TARGETS:
        return None
    if os.path.basename(py_file) != "kernels.py":
        return None
    if os.path.basename(os.path.dirname(os.path.abspath(py_file))) != match.group(1):
        return None
    return match.group(1)


class KernelLocator(UserProvidedCacheLocator):
    """A target's kernels.py: cached under NUMBA_CACHE_DIR/kernels-<target>, whatever its path."""

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._cache_path = os.path.join(
            config.CACHE_DIR, f"kernels-{kernel_target(py_func, py_file)}"
        )

    @classmethod
    def from_function(cls, py_func, py_file):
        if not config.CACHE_DIR or kernel_target(py_func, py_file) is None:
            return None
        return super().from_function(py_func, py_file)


def share_kernel_cache() -> bool:
    """KernelLocator first among numba's locators (idempotent). False where this numba keeps its
    list elsewhere: then every process compiles the candidate itself, as before."""
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)  # old name
    locators = getattr(impl, "_locator_classes", None)
    if not isinstance(locators, list):
        return False
    if KernelLocator not in locators:
        locators.insert(0, KernelLocator)
    return True
