# `make test` / `make firmware`: install the firmware toolchain where the machine allows
# it (Debian or Ubuntu, as root: apt-get), else say in one line what is missing (the
# qemu tests are then skipped). Never fails the make: the qemu tests skip themselves.
#   python -m onenet_ota_tools.fwbuild.toolchain
# Versions are pinned to Debian 12 (bookworm), what CI runs; where a pinned version is
# not on the mirror (another release, a security update) the release's own is taken
# and the line says which versions were installed.
import os
import shutil
import subprocess
import sys

from .build import missing, missing_line

PINNED = {  # Debian 12.x
    "gcc-arm-none-eabi": "15:12.2.rel1-1",
    "libnewlib-arm-none-eabi": "3.3.0-1.3+deb12u1",
    "qemu-system-arm": "1:7.2+dfsg-7+deb12u18+b3",
    "gcc-multilib": "4:12.2.0-3",
}


def _apt(args, timeout=900):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(["apt-get"] + args, env=env, capture_output=True, text=True, timeout=timeout)


def _versions(pkgs):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Package}=${Version} "] + list(pkgs),
                       capture_output=True, text=True)
    return p.stdout.strip()


def _can_apt():
    return bool(shutil.which("apt-get")) and hasattr(os, "geteuid") and os.geteuid() == 0


# The simulator's page is tested in a real browser (Debian's chromium, not pinned: it
# follows the security archive). Optional like the rest: without it that test skips.
# Debian's mosquitto likewise, for the MQTT tests (same function, another package).
def _browser(updated, pkg="chromium", what="the page test"):
    def there():
        return shutil.which(pkg) or os.path.exists("/usr/sbin/" + pkg)

    if there():
        return
    if not _can_apt():
        print("%s will be skipped: %s missing (Debian: apt-get install %s)" % (what, pkg, pkg))
        return
    try:
        if not updated:
            _apt(["update", "-qq"])
        r = _apt(["install", "-y", "-qq", pkg])
    except (OSError, subprocess.TimeoutExpired) as e:
        print("%s will be skipped: apt-get install %s failed (%s)" % (what, pkg, e))
        return
    if there():
        print("%s: installed %s" % ("browser" if pkg == "chromium" else pkg, _versions([pkg])))
    else:
        last = (r.stderr or r.stdout).strip().splitlines()[-1:] or [""]
        print("%s will be skipped: apt-get install %s failed (%s)" % (what, pkg, last[0]))


def main():
    r = _toolchain()
    _browser(r)
    _browser(r, "mosquitto", "the MQTT tests")  # a real broker (host_tests/system/test_mqtt.py)
    return 0


# -> whether apt-get update ran
def _toolchain():
    want = []
    for target in ("qemu", "unix32"):
        for p in missing(target):
            if p not in want:
                want.append(p)
    if not want:
        print("firmware toolchain: present")
        return False
    if not _can_apt():
        print("qemu tests will be skipped: " + missing_line(want))
        return False
    print("firmware toolchain: apt-get install %s ..." % " ".join(want), flush=True)
    try:
        r = _apt(["update", "-qq"])
        if r.returncode == 0:
            r = _apt(["install", "-y", "-qq"]
                     + ["%s=%s" % (p, PINNED[p]) if p in PINNED else p for p in want])
            if r.returncode:  # the pinned versions are not on this mirror
                r = _apt(["install", "-y", "-qq"] + want)
    except (OSError, subprocess.TimeoutExpired) as e:
        print("qemu tests will be skipped: apt-get failed (%s); %s" % (e, missing_line(want)))
        return True
    left = [p for t in ("qemu", "unix32") for p in missing(t)]
    if r.returncode or left:
        last = (r.stderr or r.stdout).strip().splitlines()[-1:] or [""]
        print("qemu tests will be skipped: apt-get failed (%s); %s" % (last[0], missing_line(left or want)))
        return True
    print("firmware toolchain: installed %s" % _versions([p for p in want if p in PINNED] or want))
    return True


if __name__ == "__main__":
    sys.exit(main())
