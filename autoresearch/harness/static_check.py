"""The oracle's static check: what kernels.py may import, name and contain, read from its source.

`static_problems` walks the AST once (`_StaticChecker`); `static_check` applies it to a target's
kernels.py with the imports its program.md allows and the integers only the harness uses
(`harness_secrets`). Which modules a kernel may reach is one rule, `kernel_process.module_allowed`,
which the kernel's process applies to module state too. docs/oracle.md lists the rules.
"""

from __future__ import annotations

import ast
import codecs
import importlib
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from autoresearch import PACKAGE_DIR
from autoresearch.harness.cases import FIXED_SEEDS, Failure
from autoresearch.harness.module_state import module_allowed

DEFAULT_ALLOWED_IMPORTS = ("numpy", "numba", "math")

# What Python may decode kernels.py as: what the static check parses is then what runs.
SOURCE_ENCODINGS = ("utf-8", "utf-8-sig")
# A kernels.py larger than this, or one literal bigger than these, is embedding data (answers).
MAX_SOURCE_BYTES = 200_000
MAX_LITERAL_ELEMENTS = 4096
MAX_LITERAL_CHARS = 10_000

# Builtins a kernel never needs and a cheating one does: files, code from strings, introspection,
# the interpreter's exit, output that could spoof this report, object identity (caches by id).
FORBIDDEN_NAMES = {
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr",
    "delattr", "getattr", "breakpoint", "input", "memoryview", "__builtins__", "__loader__",
    "__spec__", "__file__", "print", "id", "exit", "quit", "help", "license", "credits",
    "copyright", "SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException",
}  # fmt: skip
# Attributes that reach files, the numba/numpy runtime, threads, addresses or the clock, whatever
# object they are looked up on (the resolver below also follows chains from imported modules).
FORBIDDEN_ATTRS = {
    "objmode", "load", "loadtxt", "fromfile", "memmap", "save", "savez", "savetxt", "tofile",
    "ctypeslib", "ctypes", "frombuffer", "get_include", "set_num_threads", "config",
    "genfromtxt", "fromregex", "savez_compressed", "open_memmap", "NpzFile", "DataSource", "dump",
    "dumps", "byte_bounds", "setflags", "set_parallel_chunksize", "gdb", "gdb_init",
    "gdb_breakpoint", "carray", "farray", "cfunc", "jit_module", "extending", "experimental",
    "stencil", "cloudpickle", "llvmlite", "ffi", "show_config", "show_runtime", "perf_counter",
    "perf_counter_ns", "process_time", "monotonic", "time_ns", "with_traceback",
    # modules that numpy and numba expose as plain attributes (numba.sys, numba.config.os, ...)
    "os", "sys", "io", "time", "subprocess", "threading", "multiprocessing", "importlib",
    "builtins", "socket", "shutil", "pathlib", "tempfile", "gc", "inspect", "pickle", "marshal",
    "signal", "mmap", "platform", "weakref", "codecs", "fileinput", "urllib", "http", "asyncio",
    "concurrent", "traceback", "resource", "atexit", "runpy",
    # process-wide state of numpy and numba a kernel could keep a counter or a cache in
    "set_printoptions", "seterr", "seterrcall", "setbufsize", "set_display", "seed", "set_state",
    "targetctx", "typingctx", "overloads", "targetoptions", "locals",
    # C functions called by symbol from jitted code: all of libc (getenv reads the speed salt,
    # fopen the workload files, clock_gettime the clock, system anything)
    "ExternalFunction", "ExternalFunctionPointer", "WrapperAddressProtocol",
    # what a dispatcher knows about this process: loaded from numba's cache or compiled here, the
    # signatures it met (the oracle's kernel process compiles what asv's processes load)
    "stats", "signatures", "nopython_signatures", "inspect_llvm", "inspect_asm", "inspect_types",
    "inspect_cfg", "inspect_disasm_cfg", "get_metadata", "get_annotation_info",
    # what changes how a dispatcher compiles or files its code after import: recompile() empties
    # numba's cache index and files new code under the keys the oracle's process ran (a twin of
    # a judged function, recompiled with a global flag set: tests/redteam/take/twin_recompile.py)
    "recompile", "enable_caching", "disable_compile", "flush",
}  # fmt: skip
# Frames and code objects: a kernel walking up to the oracle's frame could read its answers.
FRAME_ATTR = re.compile(r"^(f|tb|gi|cr|ag|co|func)_\w+$")
# Strings a kernel has no reason to contain: harness module names, workload files, environment.
FORBIDDEN_SUBSTRINGS = ("autoresearch", ".npz", ".npy", "TMPDIR", "perf_counter")
FORBIDDEN_STRINGS = {"now", "today"}  # np.datetime64("now") is a clock
# Methods that change a container in place: called on state outside the function, they keep state.
MUTATORS = {
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
    "add", "discard", "sort", "reverse", "fill", "put", "itemset", "resize", "setfield", "send",
    "throw", "close", "write", "writelines", "copyto",
}  # fmt: skip
# Module-level values that are stateful containers or iterators.
STATEFUL_CALLS = {
    "dict",
    "list",
    "set",
    "bytearray",
    "iter",
    "map",
    "filter",
    "zip",
    "enumerate",
    "reversed",
    "defaultdict",
    "deque",
    "OrderedDict",
    "Counter",
}

# Submodules of the default allowed packages a kernel may reach (everything else under numba, and
# these under numpy, read files, run threads or subprocesses, or expose os/sys).
DENIED_NUMPY_MODULES = (
    "numpy.testing", "numpy.f2py", "numpy.ctypeslib", "numpy.distutils", "numpy.lib.npyio",
    "numpy.lib._npyio_impl", "numpy.lib.format", "numpy.lib._format_impl",
    "numpy.lib._datasource", "numpy.core", "numpy._core", "numpy._pytesttester",
)  # fmt: skip
ALLOWED_NUMBA_MODULES = ("numba", "numba.types", "numba.core.types", "numba.typed")
# Objects denied wherever they are reached from (resolved once; missing names are skipped).
DENIED_OBJECTS = (
    "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.fromregex",
    "numpy.memmap", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt",
    "numpy.rec.fromfile", "numpy.ndarray.tofile", "numpy.ndarray.dump", "numpy.ndarray.dumps",
    "numpy.ndarray.setflags", "numpy.lib.array_utils.byte_bounds", "numpy.show_config",
    "numpy.show_runtime", "numpy.get_include", "numba.objmode", "numba.gdb", "numba.gdb_init",
    "numba.gdb_breakpoint", "numba.set_num_threads", "numba.set_parallel_chunksize", "numba.test",
    "numba.carray", "numba.farray", "numba.cfunc", "numba.jit_module",
    "numba.types.ExternalFunction", "numba.types.ExternalFunctionPointer",
    "numba.types.WrapperAddressProtocol",
)  # fmt: skip


def allowed_imports(program_md: Path) -> tuple[str, ...]:
    """The `Allowed imports:` line of a target's program.md, or the default."""
    if program_md.exists():
        for line in program_md.read_text().splitlines():
            m = re.match(r"\s*[-*]?\s*allowed imports\s*:\s*(.*)$", line, re.IGNORECASE)
            if m:
                names = re.findall(r"`([\w.]+)`", m.group(1))
                if names:
                    return tuple(names)
    return DEFAULT_ALLOWED_IMPORTS


def harness_secrets(target: str | None = None) -> set[int]:
    """Integers only the harness has a use for: the seeds and the generator's constants.

    A kernel that contains one is regenerating the harness's data (to recognize it or to
    precompute answers for it). Read from the sources, not imported.
    """
    from autoresearch import common

    secrets = {*FIXED_SEEDS, common.GOLDEN_GAMMA, common._MIX1, common._MIX2}
    if target is not None and (PACKAGE_DIR / target / "inputs.py").exists():
        tree = ast.parse((PACKAGE_DIR / target / "inputs.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                value = node.value.value
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if isinstance(value, int) and any("SEED" in n.upper() for n in names):
                    secrets.add(value)
    return secrets


def _denied_ids() -> set[int]:
    ids = set()
    for dotted in DENIED_OBJECTS:
        parts = dotted.split(".")
        try:
            obj: Any = importlib.import_module(parts[0])
            for p in parts[1:]:
                obj = getattr(obj, p)
        except (ImportError, AttributeError):
            continue
        ids.add(id(obj))
    return ids


def _chain(node: ast.AST) -> tuple[ast.AST, list[str]]:
    """The root of an attribute/subscript/call chain and the attribute names from it."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            names.clear()  # an element: no longer a module path
            node = node.value
        elif isinstance(node, ast.Call):
            names.clear()
            node = node.func
        else:
            return node, names[::-1]


def _is_docstring(parent: ast.AST, node: ast.AST) -> bool:
    body = getattr(parent, "body", None)
    return (
        isinstance(body, list)
        and body
        and body[0] is node
        and isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _scope_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function's own body, not of functions or lambdas nested in it."""
    stack = list(fn.body) if isinstance(fn.body, list) else [fn.body]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            stack += getattr(node, "decorator_list", [])
            continue
        stack += list(ast.iter_child_nodes(node))


def _store_targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension)):
        return [node.target]
    if isinstance(node, ast.Delete):
        return node.targets
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [node.optional_vars]
    if isinstance(node, ast.NamedExpr):
        return [node.target]
    return []


def _flatten_targets(targets: Iterable[ast.AST]) -> Iterator[ast.AST]:
    for t in targets:
        if isinstance(t, (ast.Tuple, ast.List)):
            yield from _flatten_targets(t.elts)
        elif isinstance(t, ast.Starred):
            yield from _flatten_targets([t.value])
        else:
            yield t


class _StaticChecker:
    def __init__(self, tree: ast.Module, allowed: set[str], secrets: set[int]):
        self.tree = tree
        self.allowed = allowed
        self.secrets = secrets
        self.problems: dict[tuple[int, str], None] = {}  # ordered, de-duplicated
        self.aliases: dict[str, tuple[str, ...]] = {}  # local name -> import path
        self.stateful: set[str] = set()  # module-level names bound to containers or iterators
        self.unpacked: set[str] = set()  # ... of them, bound by unpacking one (`a, b = (...)`)
        self.docstrings: set[int] = set()
        self.denied = _denied_ids()

    def add(self, node: ast.AST, message: str) -> None:
        self.problems[(getattr(node, "lineno", 0), message)] = None

    # -- imports and what they reach -------------------------------------------------------

    def _resolve(self, path: tuple[str, ...]) -> tuple[Any, bool]:
        """The object at an import path (module, then attributes or submodules). A module the
        kernel may not reach is never imported here (importing runs it, in the oracle's process:
        `numpy.f2py.__main__` ran f2py's command line): it stands as an empty module of its name,
        which _judge_object refuses."""
        rule = (self.allowed, DENIED_NUMPY_MODULES, ALLOWED_NUMBA_MODULES)

        def load(name: str) -> Any:
            if not module_allowed(name, *rule) or "__main__" in name.split("."):
                return ModuleType(name)
            return importlib.import_module(name)

        try:
            obj: Any = load(path[0])
        except ImportError:
            return None, False
        for i, part in enumerate(path[1:], start=1):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                try:
                    obj = load(".".join(path[: i + 1]))
                except ImportError:
                    return None, False
        return obj, True

    def _judge_object(self, node: ast.AST, shown: str, obj: Any) -> bool:
        if isinstance(obj, ModuleType):
            rule = (self.allowed, DENIED_NUMPY_MODULES, ALLOWED_NUMBA_MODULES)
            if not module_allowed(obj.__name__, *rule):
                self.add(node, f"reaches module {obj.__name__!r} through {shown!r}")
                return False
        elif id(obj) in self.denied:
            self.add(node, f"use of {shown!r} (files, threads, the runtime or addresses)")
            return False
        elif isinstance(obj, (dict, list, set, bytearray)):
            self.add(node, f"use of {shown!r}: mutable module-level state of a library")
            return False
        return True

    def check_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.level or module.split(".")[0] not in self.allowed:
                self.add(node, f"import of {module!r} (allowed: {sorted(self.allowed)})")
                return
            for a in node.names:
                if a.name == "*":
                    self.add(node, f"'from {module} import *' (names must be visible)")
                    continue
                path = (*module.split("."), a.name)
                self.aliases[a.asname or a.name] = path
                self._check_name_attr(node, a.name)
                obj, ok = self._resolve(path)
                if not ok:
                    continue
                if isinstance(obj, ModuleType):  # `from numba.core import types` is numba.types
                    self._judge_object(node, ".".join(path), obj)
                elif self._judge_object(node, ".".join(path), obj):
                    self._judge_object(node, module, self._resolve(tuple(module.split(".")))[0])
            return
        for a in node.names:
            if a.name.split(".")[0] not in self.allowed:
                self.add(node, f"import of {a.name!r} (allowed: {sorted(self.allowed)})")
                continue
            obj, ok = self._resolve(tuple(a.name.split(".")))
            if ok:
                self._judge_object(node, a.name, obj)
            bound = a.asname or a.name.split(".")[0]
            self.aliases[bound] = tuple(a.name.split(".")) if a.asname else (bound,)

    def _check_name_attr(self, node: ast.AST, attr: str) -> None:
        if attr in FORBIDDEN_ATTRS:
            self.add(node, f"use of attribute {attr!r}")
        elif attr.startswith("_"):
            self.add(node, f"use of private attribute {attr!r}")
        elif FRAME_ATTR.match(attr):
            self.add(node, f"use of frame/code attribute {attr!r}")

    def check_chain(self, node: ast.Attribute) -> None:
        root, names = _chain(node)
        if not isinstance(root, ast.Name) or root.id not in self.aliases or not names:
            return
        base = self.aliases[root.id]
        obj, ok = self._resolve(base)
        shown = root.id
        for name in names:
            if not ok:
                return
            shown += "." + name
            try:
                obj = getattr(obj, name)
            except AttributeError:
                return
            if not self._judge_object(node, shown, obj):
                return

    # -- module-level facts ----------------------------------------------------------------

    def collect(self) -> None:
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                if _is_docstring(parent, child):
                    self.docstrings.add(id(child.value))
        for node in self.tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                value = node.value
                stateful = isinstance(
                    value,
                    (ast.Dict, ast.List, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp,
                     ast.GeneratorExp),
                )  # fmt: skip
                if isinstance(value, ast.Call):
                    root, names = _chain(value.func)
                    callee = names[-1] if names else getattr(root, "id", "")
                    stateful = callee in STATEFUL_CALLS or (
                        isinstance(root, ast.Name)
                        and self.aliases.get(root.id, ("",))[:2] == ("numba", "typed")
                    ) or "typed" in names  # fmt: skip
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in _flatten_targets(targets):
                    if isinstance(t, ast.Name) and stateful:
                        self.stateful.add(t.id)
                        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                            self.unpacked.add(t.id)  # one of several names bound at once
                    # `m = np` makes m another name for numpy
                    root, names = _chain(value)
                    if (
                        isinstance(t, ast.Name)
                        and isinstance(root, ast.Name)
                        and root.id in self.aliases
                        and isinstance(value, (ast.Name, ast.Attribute))
                    ):
                        self.aliases[t.id] = (*self.aliases[root.id], *names)

    # -- state -----------------------------------------------------------------------------

    def check_function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = fn.args
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        for d in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            if not _constant_default(d):
                self.add(d, "a default argument that is not a constant (defaults persist: state)")
        nodes = list(_scope_nodes(fn))
        local = set(params)
        for node in nodes:
            for t in _flatten_targets(_store_targets(node)):
                if isinstance(t, ast.Name):
                    local.add(t.id)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                local.add(node.name)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                local |= {(a.asname or a.name).split(".")[0] for a in node.names}
        # Locals that name outside state (`c = _CACHE`): writing through them writes the state.
        tainted: set[str] = set()
        for _ in range(3):
            for node in nodes:
                if isinstance(node, (ast.Assign, ast.For, ast.NamedExpr, ast.AnnAssign)):
                    value = node.iter if isinstance(node, ast.For) else node.value
                    if value is None:
                        continue
                    root, _ = _chain(value)
                    if isinstance(value, ast.Call) or not isinstance(root, ast.Name):
                        continue
                    outside = root.id not in local and root.id not in self.aliases
                    if outside or root.id in tainted:
                        for t in _flatten_targets(_store_targets(node)):
                            if isinstance(t, ast.Name):
                                tainted.add(t.id)
        for node in nodes:
            for t in _flatten_targets(_store_targets(node)):
                if isinstance(t, ast.Subscript):
                    root, _ = _chain(t)
                    name = getattr(root, "id", None)
                    if name in self.aliases:
                        continue  # reported as monkey-patching
                    if name is None or name not in local or name in tainted:
                        what = name or "a call's result"
                        self.add(t, f"writes to state outside the function ({what})")
            if isinstance(node, ast.Call):
                root, names = _chain(node.func)
                name = getattr(root, "id", None)
                outside = name is None or name not in local or name in tainted
                method = node.func.attr if isinstance(node.func, ast.Attribute) else None
                if method in MUTATORS and name not in self.aliases and outside:
                    self.add(node, f"changes state outside the function ({name}.{method})")
                if isinstance(node.func, ast.Name) and node.func.id == "next" and node.args:
                    arg_root, _ = _chain(node.args[0])
                    if isinstance(arg_root, ast.Name) and arg_root.id not in local:
                        what = arg_root.id
                        self.add(node, f"advances an iterator outside the function ({what})")
            if (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and node.id in self.stateful
                and node.id not in local
            ):
                hint = (
                    f" (unknown value: bind a constant alone, `{node.id} = np.uint64(1)`)"
                    if node.id in self.unpacked
                    else ""
                )
                self.add(
                    node, f"uses module-level mutable {node.id!r} inside a function (state){hint}"
                )

    def check_monkey_patching(self, node: ast.AST) -> None:
        for t in _flatten_targets(_store_targets(node)):
            if isinstance(t, ast.Attribute):
                # Kernels have no objects to configure: attribute stores are how patches land
                # (np.sum = ..., a clock replaced) and how state hides (f.cache = {}).
                self.add(t, f"assigns attribute {t.attr!r} (monkey-patching or hidden state)")
            elif isinstance(t, ast.Subscript):
                root, _ = _chain(t)
                if isinstance(root, ast.Name) and root.id in self.aliases:
                    what = ".".join(self.aliases[root.id])
                    self.add(t, f"assigns into imported {what!r} (monkey-patching)")

    # -- everything ------------------------------------------------------------------------

    def run(self) -> list[str]:
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.check_import(node)
        self.collect()
        for node in ast.walk(self.tree):
            self.check_node(node)
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                self.check_function(node)
        return [f"line {line}: {message}" for line, message in sorted(self.problems)]

    def check_node(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES:
                self.add(node, f"use of {node.id!r}")
            elif node.id.startswith("__") and node.id.endswith("__"):
                self.add(node, f"use of {node.id!r}")
        elif isinstance(node, ast.Attribute):
            self._check_name_attr(node, node.attr)
            self.check_chain(node)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            self.add(node, f"{type(node).__name__.lower()} state")
        elif isinstance(node, ast.ClassDef):
            self.add(node, "a class (state holders and ndarray subclasses; kernels need neither)")
        elif isinstance(node, (ast.Yield, ast.YieldFrom, ast.AsyncFunctionDef, ast.Await)):
            self.add(node, "a generator or coroutine (it keeps state and frames between calls)")
        elif isinstance(node, ast.Constant):
            self.check_constant(node)
        elif (
            isinstance(node, (ast.List, ast.Tuple, ast.Set))
            and len(node.elts) > MAX_LITERAL_ELEMENTS
        ):
            self.add(node, f"a literal of {len(node.elts)} elements (embedded data)")
        elif isinstance(node, ast.Dict) and len(node.keys) > MAX_LITERAL_ELEMENTS:
            self.add(node, f"a literal of {len(node.keys)} entries (embedded data)")
        self.check_monkey_patching(node)

    def check_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and value in self.secrets:
            self.add(node, f"the harness's seed or generator constant {value:#x}")
        if isinstance(value, (str, bytes)) and len(value) > MAX_LITERAL_CHARS:
            self.add(node, f"a literal of {len(value)} characters (embedded data)")
        if isinstance(value, str) and id(node) not in self.docstrings:
            hit = [s for s in FORBIDDEN_SUBSTRINGS if s.lower() in value.lower()]
            if hit or value.strip().lower() in FORBIDDEN_STRINGS:
                self.add(node, f"string {value[:60]!r} names the harness, its files or the clock")


def _constant_default(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_constant_default(e) for e in node.elts)
    return False


def static_problems(
    source: str | bytes, allowed: Iterable[str], secrets: Iterable[int] = ()
) -> list[str]:
    """What kernels.py imports, touches or keeps that it may not (see docs/oracle.md). `source`:
    the file's bytes (a str is read as its UTF-8 encoding), decoded as Python decodes them."""
    allowed = set(allowed)
    data = source if isinstance(source, bytes) else source.encode()
    if len(data) > MAX_SOURCE_BYTES:
        return [f"kernels.py is {len(data)} bytes (limit {MAX_SOURCE_BYTES}): embedded data"]
    try:
        # The rules walk the tree Python compiles from these very bytes (its own decoder: coding
        # line, BOM, newlines), and refuse a file that reads otherwise as UTF-8 text: under a
        # coding line (unicode_escape) a comment's "\u000a" is a new line of code, hidden from
        # a reader of the text (red-team take/hidden_by_encoding). Python finds the coding line
        # after turning a lone carriage return into a newline, which tokenize does not.
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        encoding = codecs.lookup(tokenize.detect_encoding(io.BytesIO(lines).readline)[0]).name
        if encoding not in SOURCE_ENCODINGS:
            return [f"kernels.py declares the source encoding {encoding!r}: UTF-8 only"]
        tree = ast.parse(data)
        if ast.dump(ast.parse(data.decode("utf-8-sig"))) != ast.dump(tree):
            return ["kernels.py reads otherwise as UTF-8 text than Python compiles it: UTF-8 only"]
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        return [f"syntax error: {exc}"]
    return _StaticChecker(tree, allowed, set(secrets)).run()


def static_check(
    target: str, kernels_path: Path | None = None, source: bytes | None = None
) -> list[Failure]:
    """`static_problems` of the target's kernels.py (or `kernels_path`); `source`: its bytes as
    already read, which are then the bytes the kernel's processes compile (oracle.run)."""
    path = kernels_path or PACKAGE_DIR / target / "kernels.py"
    allowed = allowed_imports(PACKAGE_DIR / target / "program.md")
    data = path.read_bytes() if source is None else source
    problems = static_problems(data, allowed, harness_secrets(target))
    return [Failure(str(path.name), "static", p) for p in problems]
