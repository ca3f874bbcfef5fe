# Regenerate package.json (for `mpremote mip install github:ORG/REPO`) from the files in
# firmware/onenet_ota/. `python -m onenet_ota_tools.board.sync_package_json [--check]`
import json
import os
import sys

from .. import ROOT
from . import PACKAGE_DIR

PATH = os.path.join(ROOT, "package.json")


def expected():
    from onenet_ota import __version__

    names = sorted(n for n in os.listdir(PACKAGE_DIR) if n.endswith(".py"))
    return {
        "urls": [["onenet_ota/" + n, "firmware/onenet_ota/" + n] for n in names],
        "deps": [],
        "version": __version__,
    }


def render(pkg):
    return json.dumps(pkg, indent=2) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    want = render(expected())
    try:
        with open(PATH) as f:
            have = f.read()
    except OSError:
        have = None
    if "--check" in argv:
        if have != want:
            print("package.json is out of date: run python -m onenet_ota_tools.board.sync_package_json", file=sys.stderr)
            return 1
        return 0
    if have != want:
        with open(PATH, "w") as f:
            f.write(want)
        print("package.json updated (%d files)" % len(expected()["urls"]))
    else:
        print("package.json up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
