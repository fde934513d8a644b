"""The test session runs with the thread settings of asv's benchmark processes, set before numba
loads: numba re-reads the environment at each compile and refuses a thread count that differs
from the one its pool launched with, so a test importing `benchmarks` (which sets them) after
numba started its threads made the next cold compile raise."""

import os

from autoresearch.kernel_process import KERNEL_ENV

os.environ.update(KERNEL_ENV)
