# The MicroPython source for firmware builds, in this order:
#   1. --micropython-src PATH, else MICROPYTHON_SRC: a source tree or a .tar.xz of one;
#   2. ../shared/vendor/micropython-1.28.0-src.tar.xz beside the repository (the
#      project's machines and CI have it);
#   3. the v1.28.0 release from micropython.org (MICROPYTHON_SRC_URL to override), its
#      SHA-256 checked (MICROPYTHON_SRC_SHA256 to override) before it is used.
# A tarball is extracted once under build/fw/src-<sha256 prefix>/.
import hashlib
import os
import shutil
import tarfile
import tempfile

from .. import ROOT

VERSION = "1.28.0"
VENDOR = os.path.join(os.path.dirname(ROOT), "shared", "vendor", "micropython-%s-src.tar.xz" % VERSION)
URL = "https://micropython.org/resources/source/micropython-%s.tar.xz" % VERSION
# ../shared/vendor/README.md: the SHA-256 of the project's copy of the v1.28.0 tree (cut
# down to what these builds need). The project has not recorded the hash of the full
# release tarball: a download of it is refused until MICROPYTHON_SRC_SHA256 gives it.
SHA256 = "c7ba889a7514bfd405e833ae847157427f113ee7eeea7895a7548b38ac5b6c30"
CACHE = os.path.join(ROOT, "build", "fw")


class SourceError(Exception):
    pass


def vendored():
    return VENDOR if os.path.isfile(VENDOR) else None


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def _download(dest):
    import urllib.request

    url = os.environ.get("MICROPYTHON_SRC_URL") or URL
    want = os.environ.get("MICROPYTHON_SRC_SHA256") or SHA256
    tmp = dest + ".part"
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
    except OSError as e:
        raise SourceError("cannot download %s: %s (give --micropython-src or MICROPYTHON_SRC)" % (url, e))
    got = sha256(tmp)
    if got != want:
        os.remove(tmp)
        raise SourceError("%s: sha256 %s, expected %s (set MICROPYTHON_SRC_SHA256 to the "
                          "release's published hash, or give --micropython-src)" % (url, got, want))
    os.replace(tmp, dest)
    return dest


def _tree_ok(d):
    return os.path.isfile(os.path.join(d, "py", "mpconfig.h")) and os.path.isdir(os.path.join(d, "ports"))


def _extract(tarball, cache):
    # -> the extracted tree (its top folder), once per tarball content.
    key = sha256(tarball)[:16]
    out = os.path.join(cache, "src-" + key)
    done = os.path.join(out, ".extracted")
    if os.path.exists(done):
        with open(done) as f:
            return os.path.join(out, f.read().strip()), key
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="src-", dir=cache)
    try:
        with tarfile.open(tarball) as t:
            tops = {n.split("/", 1)[0] for n in t.getnames()}
            if len(tops) != 1:
                raise SourceError("%s: not one source tree" % tarball)
            try:
                t.extractall(tmp, filter="tar")
            except TypeError:  # Python < 3.12 without extraction filters
                t.extractall(tmp)
        top = tops.pop()
        if not _tree_ok(os.path.join(tmp, top)):
            raise SourceError("%s: no MicroPython tree inside" % tarball)
        with open(os.path.join(tmp, ".extracted"), "w") as f:
            f.write(top)
        try:
            os.rename(tmp, out)
        except OSError:  # another build extracted it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with open(done) as f:
        return os.path.join(out, f.read().strip()), key


def locate(given=None, cache=CACHE, download=True):
    # -> (tree, key, where): the source tree, a key naming its content for the build
    # cache, and a one-line description of where it came from.
    given = given or os.environ.get("MICROPYTHON_SRC")
    if given:
        given = os.path.abspath(given)
        if os.path.isdir(given):
            if not _tree_ok(given):
                raise SourceError("%s: not a MicroPython source tree (no py/mpconfig.h)" % given)
            # a tree is keyed by its path and version header: edits inside it are the
            # caller's (delete build/fw/ to rebuild)
            with open(os.path.join(given, "py", "mpconfig.h"), "rb") as f:
                key = hashlib.sha256(given.encode() + f.read()).hexdigest()[:16]
            return given, key, given
        if os.path.isfile(given):
            tree, key = _extract(given, cache)
            return tree, key, given
        raise SourceError("%s: no such file or folder" % given)
    v = vendored()
    if v:
        tree, key = _extract(v, cache)
        return tree, key, v
    if not download:
        raise SourceError("no MicroPython source: give --micropython-src or MICROPYTHON_SRC")
    os.makedirs(cache, exist_ok=True)
    dest = os.path.join(cache, "micropython-%s.tar.xz" % VERSION)
    if not os.path.exists(dest):
        _download(dest)
    tree, key = _extract(dest, cache)
    return tree, key, URL
