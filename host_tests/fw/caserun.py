# Runs the case_* functions of one case module on whichever runtime imports this
# (CPython or MicroPython; started by runner.py), one line per case:
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
    # CPython always needs the shim (micropython module, time.ticks_*). MicroPython
    # loads it only if the case module imports it: the stand-ins cost heap that the
    # small-heap runs (auth, hashes, HTTP at 32k) do not have to spare.
    if not MP:
        import ota_shim

        ota_shim.install()
    mod = __import__(argv[1])
    if MP and "ota_shim" in sys.modules:
        sys.modules["ota_shim"].install()
    names = argv[2:] or sorted(n for n in dir(mod) if n.startswith("case_"))
    import gc

    for n in names:
        gc.collect()
        try:
            r = getattr(mod, n)()
            print("CASE", n, "ok", json.dumps(r) if json else repr(r))
        except Exception as e:
            _show(e)
            print("CASE", n, "fail", repr(e).replace("\n", " "))


main(sys.argv)
