"""Where numba turns text a kernel wrote into Python code, closed.

To the static check a string is data. numba runs two kinds as code (found by reviews in session 47):
- A signature string (`njit("int64(int64[::1])")`): `sigutils._parse_signature_string` `eval`s
  it with the builtins and `numba.core.types`' namespace (`np`, `ctypes`, `config` among it), at
  the decorator's call, i.e. at a kernel's import in the oracle's processes and asv's.
  `parse_signature` reads it instead: names of numba types, called, subscripted and grouped, with
  a few constants, walked node by node (no `eval`: a type class called with strings reaches numpy
  by name, `Integer('seterr', ...)`).
- An escaping closure (`MakeFunctionToJitFunction`, in numba's default pipeline): numba writes
  the closure's captured constants and default arguments into Python source with `%s` and `exec`s
  it with the kernel module's globals, so a string default is pasted in as code.
  `closure_constants_checked` refuses any such constant but a number, a bool or None.
`guard_numba_text()` installs both, in each process that imports a kernel and before it does.
"""

from __future__ import annotations

import ast
import functools
from typing import Any

# The type classes a signature may call (with types, small integers and a layout letter).
_CLASSES = ("Array", "UniTuple", "Tuple", "Optional", "optional")
_LAYOUTS = ("C", "F", "A")
_KEYWORDS = ("readonly", "aligned")
_PLAIN = (int, float, complex, bool, type(None))  # constants `%s` writes as their own literal


def parse_signature(text: str) -> Any:
    """What numba's `eval` of a signature string gives, for strings made of numba types only;
    TypeError for anything else."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise TypeError(f"invalid numba signature {text!r}: {exc}") from None
    return _Reader(text).value(tree.body)


class _Reader:
    def __init__(self, text: str):
        from numba.core import types

        self.text, self.types = text, types

    def refuse(self, what: str) -> TypeError:
        return TypeError(
            f"numba signature {self.text!r}: {what} (numba types, their subscripts and calls only)"
        )

    def value(self, node: ast.AST) -> Any:
        Type = self.types.Type
        if isinstance(node, ast.Name):
            value = vars(self.types).get(node.id)
            if isinstance(value, Type) or (node.id in _CLASSES and isinstance(value, type)):
                return value
            raise self.refuse(f"{node.id!r} is not a numba type")
        if isinstance(node, (ast.Tuple, ast.List)):
            items = tuple(self.type(e) for e in node.elts)
            return items if isinstance(node, ast.Tuple) else list(items)
        if isinstance(node, ast.Subscript):
            base = self.type(node.value)
            return base[self.index(node.slice)]
        if isinstance(node, ast.Call):
            func = self.value(node.func)
            if isinstance(func, Type):  # a signature: return type called with argument types
                if node.keywords:
                    raise self.refuse("keywords in a signature")
                return func(*(self.type(a) for a in node.args))
            if not (isinstance(func, type) and issubclass(func, Type)):
                raise self.refuse(f"{ast.unparse(node.func)!r} called")
            args = [self.argument(a) for a in node.args]
            kwargs = {}
            for k in node.keywords:
                if k.arg not in _KEYWORDS or not isinstance(k.value, ast.Constant):
                    raise self.refuse(f"the keyword {k.arg!r}")
                if not isinstance(k.value.value, bool):
                    raise self.refuse(f"the keyword {k.arg!r}: not a bool")
                kwargs[k.arg] = k.value.value
            return func(*args, **kwargs)
        raise self.refuse(f"{type(node).__name__} is not allowed")

    def type(self, node: ast.AST) -> Any:
        value = self.value(node)
        if isinstance(value, (tuple, list)):
            return tuple(value)  # Tuple((int64, float64)) takes a tuple of types
        if not isinstance(value, self.types.Type):
            raise self.refuse(f"{ast.unparse(node)!r} is not a numba type")
        return value

    def argument(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            v = node.value
            if (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 64) or v in _LAYOUTS:
                return v
            raise self.refuse(f"the constant {v!r}")
        return self.type(node)

    def index(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Tuple):
            return tuple(self.index(e) for e in node.elts)
        if isinstance(node, ast.Slice):
            parts = [node.lower, node.upper, node.step]
            ok = (None, None, 1)
            for part, allowed in zip(parts, ok, strict=True):
                if part is not None and not (
                    isinstance(part, ast.Constant) and part.value == allowed
                ):
                    raise self.refuse("a slice other than ':' or '::1'")
            return slice(None, None, 1 if node.step is not None else None)
        raise self.refuse(f"the index {ast.unparse(node)!r}")


def closure_constants_checked(convert):
    """numba's `convert_code_obj_to_function` (`convert`), refusing a closure whose captured
    constants or defaults are anything but numbers, bools or None: numba pastes their `%s` into
    source it `exec`s."""

    @functools.wraps(convert)
    def checked(code_obj, caller_ir):
        from numba.core import ir
        from numba.core.errors import TypingError

        try:
            names = [caller_ir.get_definition(x) for x in code_obj.code.co_freevars]
            defaults = caller_ir.get_definition(code_obj.defaults)
            if defaults is not None:
                items = defaults if isinstance(defaults, tuple) else defaults.items
                names += [caller_ir.get_definition(x) for x in items]
        except Exception:  # what numba cannot resolve, it refuses itself (below)
            names = []
        for d in names:
            if isinstance(d, ir.Const) and not isinstance(d.value, _PLAIN):
                raise TypingError(
                    f"a closure may capture and default to numbers, bools and None only (numba "
                    f"writes them into code it runs): {type(d.value).__name__} {d.value!r:.60}"
                )
        return convert(code_obj, caller_ir)

    checked.__wrapped_by_harness__ = True
    return checked


def guard_numba_text() -> bool:
    """Both guards installed in this process (idempotent). False where this numba has neither
    function where the harness looks (its text is then its own, as before)."""
    from numba.core import ir_utils, sigutils, untyped_passes

    found = False
    if callable(getattr(sigutils, "_parse_signature_string", None)):
        sigutils._parse_signature_string = parse_signature
        found = True
    convert = getattr(ir_utils, "convert_code_obj_to_function", None)
    if callable(convert):
        if not getattr(convert, "__wrapped_by_harness__", False):
            convert = closure_constants_checked(convert)
        ir_utils.convert_code_obj_to_function = convert
        untyped_passes.convert_code_obj_to_function = convert  # imported there by name
        found = True
    return found
