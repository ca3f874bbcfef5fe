# Regenerate the mip package files from the manifests (manifests/onenet-ota-*/):
#   package.json     every module   mpremote mip install github:ORG/REPO
#   <board>.json     one board's    mpremote mip install github:ORG/REPO/<board>.json
# (esp32, nrf52832, gd32, unix), and mqtt.json (MQTT task notification, with umqtt.simple
# as a dependency: after esp32.json). mip fetches each "urls" entry relative to the json's
# folder: the repository root.
#   python -m onenet_ota_tools.board.sync_package_json [--check]
import json
import os
import sys

from .. import ROOT
from . import manifest


def path(part):
    return os.path.join(ROOT, "package.json" if part == "all" else part + ".json")


def expected(part="all"):
    from onenet_ota import __version__

    return {
        "urls": [[t, os.path.relpath(src, ROOT).replace(os.sep, "/")] for t, src in manifest.part_files(part)],
        "deps": [[d, "latest"] for d in manifest.deps(part)],
        "version": __version__,
    }


def render(pkg):
    return json.dumps(pkg, indent=2) + "\n"


def parts():
    return ("all",) + manifest.BOARD_PARTS + ("mqtt",)  # mqtt.json: notify.py + umqtt.simple


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    stale = []
    for part in parts():
        want = render(expected(part))
        try:
            with open(path(part)) as f:
                have = f.read()
        except OSError:
            have = None
        if have == want:
            continue
        stale.append(os.path.basename(path(part)))
        if "--check" not in argv:
            with open(path(part), "w") as f:
                f.write(want)
    if "--check" in argv:
        if stale:
            print("out of date: %s: run python -m onenet_ota_tools.board.sync_package_json"
                  % ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    print("updated: %s" % ", ".join(stale) if stale else "package files up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
