# Runs the case_* functions of one case module on whichever runtime executes this file
# (CPython or MicroPython), one line per case:
#   CASE <name> ok <json>   |   CASE <name> fail <message>
# Usage: runner.py MODULE [CASE ...]. Paths come from MICROPYPATH / PYTHONPATH.
import sys

try:
    import json
except ImportError:
    json = None

MP = sys.implementation.name == "micropython"
if not MP:
    import traceback


def _show(e):
    if MP:
        sys.print_exception(e)
    else:
        traceback.print_exc()


def main(argv):
    import ota_shim

    ota_shim.install()
    mod = __import__(argv[1])
    names = argv[2:] or sorted(n for n in dir(mod) if n.startswith("case_"))
    for n in names:
        try:
            r = getattr(mod, n)()
            print("CASE", n, "ok", json.dumps(r) if json else repr(r))
        except Exception as e:
            _show(e)
            print("CASE", n, "fail", repr(e).replace("\n", " "))


main(sys.argv)
