# onenet-ota demo --app: an application update on this PC. The unix board's own main.py
# (boards/unix/main.py: the app loader, one agent cycle, the app) runs on the real unix
# micropython, boot after boot (machine.reset: the shim's Reset ends a boot), with
# "sink": "app", against the local simulator: V1.0 is installed over the air, then
# V2.0, then V3.0 whose self-test fails: rolled back to V2.0 with 206.
import json
import os
import subprocess

from . import BOARDS, appbundle, runtimes
from .cli import CommandError

APP = """VERSION = %r


def selftest():
    # called by the agent on the new app's first boot, before it is kept
    return %s


def main():
    print("APP hello from", VERSION)
"""

# One boot: the shim's machine (reset raises ota_shim.Reset), then main.py unchanged.
BOOT = """import sys
import ota_shim

ota_shim.install(".")
try:
    exec(open(%r).read())
except ota_shim.Reset:
    print("RESET")
    sys.exit(3)
"""


def run(args, demo, state_dir):
    import tempfile

    state = state_dir(args.state_dir)  # demo.py's: never empties a folder it did not make
    dev = os.path.join(state, "device")
    os.makedirs(dev)
    with tempfile.TemporaryDirectory() as src:
        return _demo(args, demo, state, dev, src)


def _demo(args, demo, state, dev, srcdir):
    from .sim import Simulator

    with open(os.path.join(dev, "boot_once.py"), "w") as f:
        f.write(BOOT % os.path.join(BOARDS, "unix", "main.py"))
    with Simulator(os.path.join(state, "sim"), port=0) as sim:
        print("1. simulator   %s" % sim.url)
        with open(os.path.join(dev, "config.json"), "w") as f:
            json.dump({"board": "unix", "sink": "app", "host": "127.0.0.1", "port": sim.port,
                       "version": "V0.9", "backoff_ms": 100, "progress_every": 50, "chunk": 1024,
                       "product_id": demo["product_id"], "dev_id": demo["dev_id"],
                       "access_key": demo["access_key"]}, f)
        ok = True
        for n, (ver, selftest, want) in enumerate((("V1.0", "True", 201), ("V2.0", "True", 201),
                                                   ("V3.0", "False", 206))):
            src = os.path.join(srcdir, "app-" + ver)
            os.makedirs(src)
            with open(os.path.join(src, "app.py"), "w") as f:
                f.write(APP % (ver, selftest))
            blob, man, paths = appbundle.build(src, ver, board="unix", mpy_cross=_mpy_cross(), run=_run)
            task = sim.publish(data=blob, target=ver, manuf="100", model="10001", retry=2, interval=1,
                               name="app-%s.oab" % ver, **demo)
            print("%d. published   app %s: OAB1 bundle, %d bytes (%s)%s" % (
                n + 2, ver, len(blob), ", ".join(paths), "" if selftest == "True" else ", its self-test fails"))
            outs = []
            for _ in range(6):
                try:
                    p = runtimes.run(args.runtime, os.path.join(dev, "boot_once.py"), heap="256k", timeout=120,
                                     cwd=dev)
                except subprocess.TimeoutExpired:
                    raise CommandError("the device did not finish a boot in 120 s (state in %s)" % state, 1)
                said = [l[4:] for l in p.stdout.splitlines() if l.startswith("APP ")]
                outs.append("reset" if p.returncode == 3 else (said[0] if said else "exit %d" % p.returncode))
                if p.returncode != 3:
                    break
            t = sim.task(task.get("tid", task.get("id")))
            codes = [e["detail"]["step"] for e in sim.events(demo["dev_id"], t["id"])
                     if e["kind"] == "progress" and e["detail"]["step"] > 100]
            print("   device      boots: %s" % " | ".join(outs))
            print("   simulator   task %s, codes %s" % (t["state"], codes))
            ok = ok and codes[-1:] == [want]
    if not ok:
        raise CommandError("the app demo did not end as expected", 1)
    print("done: V2.0 runs; V3.0 was rolled back (206). State in %s" % state)
    return 0


def _mpy_cross():
    from .board import tool

    return tool("mpy-cross")


def _run(argv):
    from .board import run as run_tool

    run_tool(argv, timeout=60, capture=True)
