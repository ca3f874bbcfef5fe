# The layout of the source (issue 18): no import circle in firmware/ or tools/, and no
# module over ~400 lines outside the unrolled hashes. Imports are read with ast, every
# one counts (a lazy import inside a function is an edge too: it runs, just later);
# imports by a computed name (config.profile's __import__) are not edges, that is how
# the core names a board profile without importing it.
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")
TOOLS = os.path.join(ROOT, "tools")
# Folders whose modules are imported by bare name (they are put on sys.path
# themselves): the shim's stand-ins, the qemu board's frozen modules.
FLAT = (os.path.join(TOOLS, "onenet_ota_tools", "shim"), os.path.join(TOOLS, "onenet_ota_tools", "qemu", "board"))
MAX_LINES = 400
HASHES = ("firmware/onenet_ota/md5.py", "firmware/onenet_ota/sha1.py")
# Long modules allowed for now (owner: who is splitting it); none since session 4.
LONG = {}

# Today's import circles (each an expected failure until it is broken; owner: who is
# working on those modules now). A circle not listed here fails test_no_new_import_circle.
CIRCLES = {}


def _sources():
    for top in (FIRMWARE, TOOLS):
        for base, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for f in sorted(files):
                if f.endswith(".py"):
                    yield os.path.join(base, f)


def _name(path):
    # module name of a source file: dotted from firmware/ or tools/, bare in a FLAT
    # folder (prefixed with the folder, so two flat folders do not mix)
    d = os.path.dirname(path)
    stem = os.path.basename(path)[:-3]
    if d in FLAT:
        return "%s:%s" % (os.path.relpath(d, ROOT), stem)
    rel = os.path.relpath(path, FIRMWARE if path.startswith(FIRMWARE + os.sep) else TOOLS)
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def graph():
    # {module: {imported module, ...}} over the modules of firmware/ and tools/
    paths = list(_sources())
    names = {_name(p): p for p in paths}
    edges = {}
    for n, p in names.items():
        with open(p, encoding="utf-8") as f:
            tree = ast.parse(f.read(), p)
        is_pkg = os.path.basename(p) == "__init__.py"
        flat = os.path.dirname(p) in FLAT
        pkg = n.split(".") if is_pkg else n.split(".")[:-1]
        out = edges.setdefault(n, set())

        def add(target, n=n, out=out):
            if target in names and target != n:
                out.add(target)

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if flat:
                        add("%s:%s" % (os.path.relpath(os.path.dirname(p), ROOT), a.name))
                    add(a.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg[: len(pkg) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                elif flat and node.module:
                    mod = "%s:%s" % (os.path.relpath(os.path.dirname(p), ROOT), node.module)
                    if mod not in names:
                        mod = node.module
                else:
                    mod = node.module
                subs = [mod + "." + a.name for a in node.names if mod + "." + a.name in names]
                for t in subs:  # from pkg import submodule: the submodule is the dependency
                    add(t)
                if len(subs) < len(node.names):  # a name defined in mod itself
                    add(mod)
    return edges


def cycles(edges):
    # strongly connected components with more than one module (Tarjan, iterative)
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        x = stack.pop()
                        on.discard(x)
                        comp.append(x)
                        if x == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
            elif w not in index:
                index[w] = low[w] = counter[0]
                counter[0] += 1
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(edges.get(w, ())))))
            elif w in on:
                low[v] = min(low[v], index[w])
    return out


def test_the_checker_finds_a_circle_and_reads_lazy_imports():
    # the checker itself: a circle through a lazy (function-level) import is found
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    g = graph()
    # config imports api lazily (inside check()); board.make imports config lazily
    assert "onenet_ota.api" in g["onenet_ota.config"]
    assert "onenet_ota.config" in g["onenet_ota.board"]
    # relative and flat-folder imports resolve
    assert "onenet_ota.board" in g["onenet_ota.board_nrf52"]
    assert "tools/onenet_ota_tools/shim:shimstate" in g["tools/onenet_ota_tools/shim:esp32"]


def test_no_new_import_circle():
    # firmware/ and tools/: every circle is one of today's known ones (or part of one)
    new = [c for c in cycles(graph()) if not any(set(c) <= set(k) for k in CIRCLES)]
    assert new == [], "import circles: %s" % new


def test_no_import_circle_through_the_profiles_or_the_config_helpers():
    # issue 18 item 1: config <-> board_nrf52/board_gd32 <-> uart <-> board are gone
    for c in cycles(graph()):
        assert not set(c) & {"onenet_ota.board_esp32", "onenet_ota.board_nrf52", "onenet_ota.board_gd32",
                             "onenet_ota.uart"}, c


def test_no_core_module_imports_a_profile():
    # the core names profiles only as strings (config.PROFILES); profiles import the core
    g = graph()
    profiles = {"onenet_ota.board_esp32", "onenet_ota.board_nrf52", "onenet_ota.board_gd32"}
    for m, targets in g.items():
        if m.startswith("onenet_ota.") and m not in profiles:
            assert not targets & profiles, (m, targets & profiles)


def test_no_import_circle_in_the_shim():
    g = graph()
    shim = {k: v for k, v in g.items() if k.startswith("tools/onenet_ota_tools/shim:")}
    assert cycles(shim) == []
    # every stand-in reaches the shared state through the leaf module, which imports none
    assert g["tools/onenet_ota_tools/shim:shimstate"] <= {"tools/onenet_ota_tools/shim:cpython_compat"}
    for m in ("esp32", "nrf", "flashsim", "machine", "nrf_uart", "uart_wire", "nrf52_port", "shimtools"):
        assert "tools/onenet_ota_tools/shim:ota_shim" not in g["tools/onenet_ota_tools/shim:" + m], m




def _lines():
    out = {}
    for p in _sources():
        rel = os.path.relpath(p, ROOT).replace(os.sep, "/")
        with open(p, encoding="utf-8") as f:
            out[rel] = sum(1 for _ in f)
    return out


def test_no_long_module_beyond_the_known_ones():
    long = {m for m, n in _lines().items() if n > MAX_LINES and m not in HASHES}
    assert long <= set(LONG), "over %d lines: %s" % (MAX_LINES, sorted(long - set(LONG)))


def test_tables_written_as_literals_match_their_source():
    # journal._KEYS is spelled out (a literal stays in flash when frozen; a tuple built
    # at import costs heap): it must be FIELDS' keys, in order
    import sys

    sys.path.insert(0, FIRMWARE)
    try:
        from onenet_ota import journal
    finally:
        sys.path.remove(FIRMWARE)
    assert journal._KEYS == tuple((k + "=").encode() for k in journal.FIELDS)
    assert journal._VER == journal._TOKEN + "."
