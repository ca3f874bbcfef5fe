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
# --platform fuse|studio (docs/dialects.md): the same product and device on a fuse-ota or
# Studio product; the fuse device signs user-level tokens with the account's key, the
# Studio device device-level ones with its own (the dialects' defaults). Made-up keys.
DIALECT = {"user_id": "498670", "user_key": "MTIzNDU2Nzg5MGFiY2RlZg==", "dev_key": "ZGV2a2V5ZGV2a2V5ZGV2a2V5"}


def add_arguments(p):
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    p.add_argument("--state-dir", default=".demo", help="scratch folder (default .demo): created, or one an "
                   "earlier demo made (its sim/ and device/ are emptied), or an empty folder; never one "
                   "holding anything else")
    p.add_argument("--size", type=int, default=256 * 1024, help="sample image size in bytes")
    p.add_argument("--from-version", default="V1.3")
    p.add_argument("--target", default="V1.4")
    p.add_argument("--chunk", type=int, default=4096)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--platform", choices=("legacy", "fuse", "studio"), default="legacy",
                   help="the dialect the update runs over (docs/dialects.md): legacy ota/south (default), "
                   "fuse (fuse-ota, user-level token) or studio (device-level token)")
    # -- application updates (issue 17; appdemo.py) --
    p.add_argument("--app", action="store_true",
                   help="an application update instead: app bundles V1 -> V2, then V3 whose self-test fails (206)")


def run(args):
    platform = getattr(args, "platform", None) or "legacy"
    if args.app and platform != "legacy":
        raise CommandError("--app: the legacy platform only (appdemo.py)", 2)
    if args.app:
        from .. import appdemo

        return appdemo.run(args, DEMO, _state_dir)
    from ..images import make_app_image
    from ..sim import Simulator
    from .device import run_device

    state = _state_dir(args.state_dir)
    image = make_app_image(args.size, args.target, seed=7)
    creds, sets = dict(DEMO), []
    with Simulator(os.path.join(state, "sim"), port=0) as sim:
        print("1. simulator   %s" % sim.url)
        if platform != "legacy":
            sim.add_device(DEMO["dev_id"], DEMO["product_id"], DEMO["access_key"], platform=platform, **DIALECT)
            sets = ["platform=" + platform]
            if platform == "fuse":
                sets.append("user_id=" + DIALECT["user_id"])
            creds["access_key"] = DIALECT["user_key" if platform == "fuse" else "dev_key"]
        task = sim.publish(data=image, target=args.target, manuf="101", model="10101",
                           retry=3, interval=1, **DEMO)
        print("2. published   %s (%d bytes, md5 %s) for device %s, task %s" % (
            args.target, len(image), task["md5"], DEMO["dev_id"], task.get("tid", task.get("id"))))
        print("3. device      %s, esp32 profile, running %s, platform %s" % (
            args.runtime, args.from_version, platform))
        dev = argparse.Namespace(
            runtime=args.runtime, server=sim.url, board="esp32", version=args.from_version,
            state_dir=os.path.join(state, "device"), sink=None, chunk=args.chunk, heap="256k",
            slot_size=0x80000, set=sets, json=False, quiet=False, **creds)
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


MARK = ".onenet-ota-demo"  # written in a state dir the demo made; nothing else is emptied


def _state_dir(path):
    """A fresh scratch folder at `path` -> its absolute path. Only what a demo made is
    removed: the folder's sim/ and device/ when it carries MARK. A folder holding
    anything else (a user's files, a typo'd path to a project) is refused, untouched."""
    state = os.path.abspath(path)
    if os.path.lexists(state) and not os.path.isdir(state) or os.path.islink(state):
        raise CommandError("--state-dir %s: not a folder" % path, 2)
    if os.path.isdir(state):
        names = set(os.listdir(state))
        if names and MARK not in names:
            raise CommandError("--state-dir %s exists and was not made by the demo (it holds %d entries); "
                               "give a new or empty folder" % (path, len(names)), 2)
        if names - {MARK, "sim", "device"}:
            raise CommandError("--state-dir %s holds files the demo did not make (%s); give a new or "
                               "empty folder" % (path, ", ".join(sorted(names - {MARK, "sim", "device"}))[:200]), 2)
        for sub in ("sim", "device"):
            shutil.rmtree(os.path.join(state, sub), ignore_errors=True)
    else:
        os.makedirs(state)
    with open(os.path.join(state, MARK), "w") as f:
        f.write("made by onenet-ota demo: its sim/ and device/ are emptied by the next demo\n")
    return state


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
