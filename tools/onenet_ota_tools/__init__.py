# Host side of onenet-ota: CLI, local OneNET simulator, CPython shim, board helpers.
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")
BOARDS = os.path.join(ROOT, "boards")
SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim")
