# Host side of onenet-ota: CLI, local OneNET simulator, CPython shim, board helpers.
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
# The clone (tools/onenet_ota_tools/ beside boards/ and manifests/), else an installed
# package: its copy of those folders (pyproject.toml: package data under _root/).
ROOT = os.path.dirname(os.path.dirname(_HERE))
IN_CLONE = os.path.isdir(os.path.join(ROOT, "boards")) and os.path.isdir(os.path.join(ROOT, "manifests"))
if not IN_CLONE:
    ROOT = os.path.join(_HERE, "_root")
FIRMWARE = os.path.join(ROOT, "firmware")
BOARDS = os.path.join(ROOT, "boards")
SHIM = os.path.join(_HERE, "shim")


def build_dir(*parts):
    """Where generated files go: the clone's build/, or ./build/ for an installed package
    (never into site-packages)."""
    return os.path.join(ROOT, "build", *parts) if IN_CLONE else os.path.join(os.path.abspath("build"), *parts)
