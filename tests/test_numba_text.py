"""Text a kernel wrote that numba would run as code: refused (harness/numba_text.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from numba.core import types

from autoresearch.harness.numba_text import parse_signature

SIGNATURES = [
    "int64(int64)",
    "void(int32[:], int32)",
    "(float64[:, ::1], intp)",
    "UniTuple(int64, 2)(int64)",
    "Tuple((int64, float64))(int64[::1])",
    "float32[:](Array(float32, 2, 'C', readonly=True), uint8[:, :])",
    "optional(int64)(int64)",
    "none(uint64[::1])",
]

# Code in a signature string: numba's own parser evaluates it with the builtins and
# numba.core.types' namespace, which holds np, ctypes and config.
CODE = [
    "np.save('/tmp/x', np.zeros(1)) or int64(int64)",
    "ctypes.CDLL(None).getenv(b'HOME') and int64(int64)",
    "__import__('os').system('true') or int64(int64)",
    "config",
    "int64.__class__",
    "int64(int64) if int64 else int64",
    "[t for t in (int64,)]",
    "float64(1.5)",
    # a type class called with a name reaches numpy by it (Type.cast_python_value: np.<name>)
    "Integer('seterr', 64, True)('raise')",
    "Array(int64, 1, 'C')(int64)(int64)",
    "int64(Integer('float64', 64, True))",
]


@pytest.mark.parametrize("text", SIGNATURES)
def test_signatures_that_name_types_read_as_numba_reads_them(text):
    assert parse_signature(text) == eval(text, {}, vars(types))


@pytest.mark.parametrize("text", CODE)
def test_anything_but_types_is_refused(text):
    with pytest.raises(TypeError, match="numba signature"):
        parse_signature(text)


def _run(body: str, marker, guarded: bool) -> str:
    """`body` in a fresh interpreter (numba imported), after guard_numba_text when `guarded`;
    its output. `sys.argv[1]` there is `marker`."""
    guard = (
        "from autoresearch.harness.numba_text import guard_numba_text\nassert guard_numba_text()\n"
    )
    code = "import sys\nfrom numba import njit\n" + (guard if guarded else "") + body
    done = subprocess.run([sys.executable, "-c", code, str(marker)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_numba_runs_a_signature_strings_code_until_the_harness_reads_it_as_types(tmp_path):
    """The hole (red-team take/signature_string_runs_code): numba alone runs the string's code at
    the decorator's call, an import's; with guard_numba_text the decorator raises."""
    marker = tmp_path / "ran"
    body = (
        "try:\n"
        '    njit(f"np.save({sys.argv[1]!r}, np.zeros(1)) or int64(int64)")(lambda x: x)\n'
        "except TypeError as exc:\n"
        "    print('refused:', exc)\n"
    )
    assert "refused: numba signature" in _run(body, marker, guarded=True)
    assert not marker.with_suffix(".npy").exists()
    _run(body, marker, guarded=False)
    assert marker.with_suffix(".npy").exists()  # numba alone ran it


def test_a_closures_string_constant_is_not_pasted_into_code(tmp_path):
    """numba writes an escaping closure's captured constants and defaults into source with %s and
    execs it (MakeFunctionToJitFunction): a string default there is code (found by a review in
    session 47). With guard_numba_text the compile fails instead, and nothing runs."""
    marker = tmp_path / "ran"
    body = (
        "@njit\n"
        "def apply(f, x):\n"
        "    return f(x)\n"
        "@njit\n"
        "def outer(x):\n"
        f"    def inner(y, s=\"__import__('pathlib').Path({str(marker)!r}).touch() or 0\"):\n"
        "        return y + 1\n"
        "    return apply(inner, x)\n"
        "try:\n"
        "    print('result', outer(1))\n"
        "except Exception as exc:\n"
        "    print('refused:', type(exc).__name__, str(exc)[:300])\n"
    )

    guarded = _run(body, marker, guarded=True)
    assert "numbers, bools and None only" in guarded and not marker.exists(), guarded
    plain = _run(body, marker, guarded=False)
    assert marker.exists(), plain  # numba alone ran it
