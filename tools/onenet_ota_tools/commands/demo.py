# onenet-ota demo: the whole update on this PC, against the embedded default — the
# local OneNET simulator. Starts the simulator, publishes a sample ESP32 image, runs the
# firmware agent on the real unix micropython (esp32 profile over simulated flash),
# and ends with the simulator's view of the task.
import argparse
import json
import os
import shutil

from ..cli import CommandError

# The platform documentation's example key and the seed's ids: nothing secret.
DEMO = {"product_id": "123123", "access_key": "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
        "dev_id": "522747162"}


def add_arguments(p):
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    p.add_argument("--state-dir", default=".demo", help="scratch folder, emptied first")
    p.add_argument("--size", type=int, default=256 * 1024, help="sample image size in bytes")
    p.add_argument("--from-version", default="V1.3")
    p.add_argument("--target", default="V1.4")
    p.add_argument("--chunk", type=int, default=4096)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args):
    from ..images import make_app_image
    from ..sim import Simulator
    from .device import run_device

    state = os.path.abspath(args.state_dir)
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    image = make_app_image(args.size, args.target, seed=7)
    with Simulator(os.path.join(state, "sim"), port=0) as sim:
        print("1. simulator   %s" % sim.url)
        task = sim.publish(data=image, target=args.target, manuf="101", model="10101",
                           retry=3, interval=1, **DEMO)
        print("2. published   %s (%d bytes, md5 %s) for device %s, task %s" % (
            args.target, len(image), task["md5"], DEMO["dev_id"], task.get("tid", task.get("id"))))
        print("3. device      %s, esp32 profile, running %s" % (args.runtime, args.from_version))
        dev = argparse.Namespace(
            runtime=args.runtime, server=sim.url, board="esp32", version=args.from_version,
            state_dir=os.path.join(state, "device"), sink=None, chunk=args.chunk, heap="256k",
            slot_size=0x80000, set=[], json=False, quiet=False, **DEMO)
        summary = run_device(dev)
        t = sim.task(task.get("tid", task.get("id")))
        events = [e for e in sim.events(DEMO["dev_id"])]
    print("4. summary     %s" % json.dumps(summary) if args.json else
          "4. summary     result %(result)s, code %(code)s, %(old_version)s -> %(new_version)s, "
          "%(bytes)d bytes, %(requests)d requests on %(connections)d connections, "
          "%(boots)d boots, %(seconds).2f s" % summary)
    print("   sink md5    %s (%s)" % (summary["sink_md5"],
                                     "matches" if summary["sink_md5"] == task["md5"] else "DIFFERS"))
    print("5. simulator   task %s: %s; the device reported: %s" % (
        t.get("tid", t.get("id")), t["state"], _codes(events)))
    if t["state"] != "succeeded" or summary["sink_md5"] != task["md5"]:
        raise CommandError("the demo update did not succeed", 1)
    return 0


def _codes(events):
    # The device's calls as the simulator recorded them, in order: versions reported,
    # progress steps, result codes.
    out = []
    for e in events:
        d = e.get("detail") or {}
        if e["kind"] == "report":
            out.append(str(d.get("result")))
        elif e["kind"] == "progress" and d.get("step", 0) > 100:
            out.append(str(d["step"]))
        elif e["kind"] == "version":
            out.append("version " + (d.get("s_version") or d.get("f_version") or "?"))
    return ", ".join(out) or "-"
