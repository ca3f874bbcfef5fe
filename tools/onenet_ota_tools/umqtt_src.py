# micropython-lib's umqtt.simple for the host: the MQTT client the firmware's notify.py
# uses is a dependency (a board gets it with mip: manifests/onenet-ota-mqtt, esp32.json
# "deps"), never a copy in this repository. The shim runs and the tests need its source,
# so it is fetched once from the package index pip uses, pinned by version and sha256,
# into build/umqtt/<version>/ (git-ignored), and copied onto a simulated device's
# filesystem as mip would put it there (`install`).
#
#   python -m onenet_ota_tools.umqtt_src        # fetch (or find) it; prints the folder
#
# Pinned: PyPI micropython-umqtt.simple 1.3.4 (2017, MIT, "MicroPython Developers",
# home page micropython-lib), the newest release on PyPI: micropython-lib stopped
# publishing there and serves later versions only through its mip index, which this
# machine does not reach. Its umqtt/simple.py differs from micropython-lib's current one
# (umqtt.simple 1.8.0, read at micropython-lib ee4bb8ff, 2026-08) in what notify.py uses:
#   * 1.3.4 imports usocket/ustruct/ubinascii (MicroPython resolves u-names to the
#     built-ins; on CPython the shim aliases them, cpython_compat.py);
#   * connect() has no `timeout` argument (1.5+: connect(clean_session, timeout)) and
#     does not close an old socket: notify.py hands umqtt a socket module of its own
#     whose sockets always carry a time-out, so every version is bounded, and closes the
#     old socket itself;
#   * wait_msg() returns None for a PUBLISH (1.8.0: its op): notify.py learns of an
#     inform from its callback, never from the return value;
#   * `user` is sent when not None (1.8.0: when truthy) and ssl is True/False (1.8.0: an
#     SSLContext): notify.py always sends a non-empty user and never passes ssl (its own
#     socket does TLS, with the agent's CA handling).
# Nothing else notify.py calls (set_callback, subscribe, check_msg, ping, publish,
# disconnect) differs in behaviour.
import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
import urllib.parse
import urllib.request

from . import build_dir

NAME = "micropython-umqtt.simple"
VERSION = "1.3.4"
SDIST = "micropython-umqtt.simple-1.3.4.tar.gz"
SHA256 = "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f"
MEMBER = "micropython-umqtt.simple-1.3.4/umqtt/simple.py"
CACHE = build_dir("umqtt", VERSION)


class Unavailable(RuntimeError):
    pass


def _index_url():
    # The index pip is set up with (PIP_INDEX_URL, else pip's own default).
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        try:
            from pip._internal.models.index import PyPI

            url = PyPI.simple_url
        except ImportError:
            raise Unavailable("umqtt.simple: set PIP_INDEX_URL (pip's index) to fetch %s==%s" % (NAME, VERSION))
    return url.rstrip("/") + "/"


def _get(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def _download(timeout=30):
    # The sdist through the index's simple API (PEP 503): the project page lists the
    # file's URL; the bytes must match the pinned sha256.
    index = _index_url()
    page_url = index + "micropython-umqtt-simple/"
    try:
        page = _get(page_url, timeout).decode("utf-8", "replace")
        m = re.search(r'href="([^"]*%s[^"]*)"' % re.escape(SDIST), page)
        if not m:
            raise Unavailable("umqtt.simple: %s is not listed by the package index" % SDIST)
        data = _get(urllib.parse.urljoin(page_url, m.group(1).replace("&amp;", "&")), timeout)
    except (OSError, ValueError) as e:
        raise Unavailable("umqtt.simple: cannot fetch %s==%s from the package index (offline?): %s"
                          % (NAME, VERSION, getattr(e, "reason", None) or e))
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        raise Unavailable("umqtt.simple: %s has sha256 %s, pinned %s: not used" % (SDIST, got, SHA256))
    return data


def ensure(timeout=30):
    # -> the folder that holds umqtt/simple.py (fetched on first use).
    path = os.path.join(CACHE, "umqtt", "simple.py")
    if os.path.exists(path):
        return CACHE
    data = _download(timeout)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        src = tf.extractfile(MEMBER).read()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(src)
    open(os.path.join(CACHE, "umqtt", "__init__.py"), "a").close()
    os.replace(tmp, path)
    return CACHE


def install(dest):
    # Put umqtt/ on a simulated device's filesystem (its folder is on the device's path,
    # as /lib is on a board's): what `mip.install("umqtt.simple")` leaves there.
    src = os.path.join(ensure(), "umqtt")
    out = os.path.join(dest, "umqtt")
    os.makedirs(out, exist_ok=True)
    for f in ("__init__.py", "simple.py"):
        shutil.copyfile(os.path.join(src, f), os.path.join(out, f))
    return out


def main():
    try:
        print(ensure())
    except Unavailable as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
