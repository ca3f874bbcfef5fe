# A host-side reader of MicroPython manifests (the subset this project's manifests use:
# metadata, include, require, add_library, package, module, options), so that deploy,
# the mip package files and the footprint bench read the same module sets the frozen
# builds do. MicroPython's own tools/manifestfile.py is not in the pinned packages; the
# tests check this reader against it when a MicroPython source tree is at hand.
#
#   files("manifests/onenet-ota-nrf52832") -> [(target "onenet_ota/agent.py", source path)]
import os

from .. import ROOT

MANIFESTS = os.path.join(ROOT, "manifests")
PARTS = ("core", "socket", "nohashlib", "nojson", "uart", "file", "esp32", "nrf52832", "gd32", "unix")
BOARD_PARTS = ("esp32", "nrf52832", "gd32", "unix")


class ManifestError(Exception):
    pass


class _Options:
    def __init__(self, **kw):
        self._kw = kw

    def defaults(self, **kw):
        for k, v in kw.items():
            self._kw.setdefault(k, v)

    def __getattr__(self, name):
        return self._kw.get(name)


class Manifest:
    def __init__(self, path_vars=None):
        self.path_vars = dict(path_vars or {})
        self.found = {}  # target path -> source path (first wins, in manifest order)
        self.order = []
        self.visited = set()
        self.libraries = {}
        self.meta = []
        self.deps = []  # micropython-lib packages required but not at hand (require without library)
        self.dirs = [os.getcwd()]  # folder of the manifest being read (no chdir: threads)

    def _resolve(self, path):
        for k, v in self.path_vars.items():
            if v is not None:
                path = path.replace("$(%s)" % k, v)
        if "$(" in path:
            raise ManifestError("unresolved variable in %s" % path)
        return os.path.normpath(os.path.join(self.dirs[-1], path))

    def execute(self, path):
        self.include(path)
        return self

    def _globals(self, kw):
        return {"metadata": self.metadata, "include": self.include, "require": self.require,
                "add_library": self.add_library, "package": self.package,
                "module": self.module, "options": _Options(**kw)}

    def metadata(self, **kw):
        self.meta.append(kw)

    def include(self, path, **kw):
        if not isinstance(path, str):
            for p in path:
                self.include(p, **kw)
            return
        path = self._resolve(path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self.visited:
            return
        self.visited.add(path)
        try:
            with open(path) as f:
                code = f.read()
        except OSError as e:
            raise ManifestError("cannot read manifest %s: %s" % (path, e))
        self.dirs.append(os.path.dirname(path))
        try:
            exec(compile(code, path, "exec"), self._globals(kw))
        except ManifestError:
            raise
        except Exception as e:
            raise ManifestError("error in manifest file: %s: %s" % (path, e))
        finally:
            self.dirs.pop()

    def add_library(self, name, path, prepend=False):
        self.libraries[name] = self._resolve(path)

    def require(self, name, version=None, pypi=None, library=None, **kw):
        dirs = [self.libraries[library]] if library in self.libraries else []
        if library is not None and not dirs:
            raise ManifestError("unknown library %r for require(%r)" % (library, name))
        if library is None:
            lib = self.path_vars.get("MPY_LIB_DIR")
            dirs = list(self.libraries.values()) + ([lib] if lib else [])
        for d in dirs:
            for root, _dirs, files in os.walk(d):
                if os.path.basename(root) == name and "manifest.py" in files:
                    self.include(root, **kw)
                    return
        if library is None and not self.path_vars.get("MPY_LIB_DIR"):
            # a micropython-lib package (umqtt.simple) with no micropython-lib at hand:
            # a dependency for mip ("deps" of the package files), not a file of ours
            if name not in self.deps:
                self.deps.append(name)
            return
        raise ManifestError("package %r not found" % name)

    def _add(self, src, target):
        if not os.path.isfile(src):
            raise ManifestError("file not found: %s" % src)
        if target not in self.found:
            self.found[target] = src
            self.order.append(target)

    def package(self, package_path, files=None, base_path=".", opt=None):
        base = self._resolve(base_path)
        if files is None:
            top = os.path.join(base, package_path)
            for root, _dirs, names in sorted(os.walk(top)):
                for n in sorted(names):
                    if n.endswith(".py"):
                        full = os.path.join(root, n)
                        self._add(full, os.path.relpath(full, base).replace(os.sep, "/"))
            return
        for f in files:
            self._add(os.path.join(base, package_path, f), package_path + "/" + f)

    def module(self, module_path, base_path=".", opt=None):
        self._add(os.path.join(self._resolve(base_path), module_path), os.path.basename(module_path))

    def files(self):
        return [(t, self.found[t]) for t in self.order]


def part_path(part):
    return os.path.join(MANIFESTS, "onenet-ota" if part == "all" else "onenet-ota-" + part)


def files(manifest, path_vars=None):
    # [(target, source)] of a manifest (a file or a folder holding manifest.py).
    return Manifest(path_vars).execute(manifest).files()


def deps(part):
    # micropython-lib packages a part requires (mip installs them: the jsons' "deps")
    return Manifest().execute(part_path(part)).deps


def part_files(part):
    # The agent's modules of one part ("esp32", "nrf52832", ..., "core", "all"):
    # [(target, source)], sorted by target.
    return sorted(files(part_path(part)))


def board_sources(board):
    # Source paths of the modules the board profile loads, sorted.
    return [src for _t, src in part_files(board)]


def module_names(part):
    # ["agent", "api", ...] of one part (basename without .py).
    return [os.path.basename(t)[:-3] for t, _s in part_files(part)]
