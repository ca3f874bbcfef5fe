# onenet-ota device: run the firmware agent, unchanged, on this PC.
#
# Each boot of the device is one process (CPython with the shim, or the real unix
# micropython with the same stand-ins) whose current directory is the device's
# filesystem (--state-dir). When the agent resets the device, the next boot starts
# and confirms the update, as on a board. --runtime qemu (nrf52832 only): each boot is
# qemu-system-arm running the Cortex-M3 firmware with the agent frozen in (built and
# cached by `onenet-ota firmware`), its flash the state folder's nrf_flash.bin, the
# modem UART bridged to the modem simulator (qemu/run.py, docs/qemu.md). The boards'
# simulators and reading back the sink: device_sims.py.
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

from .. import SHIM, runtimes
from ..cli import CommandError
from .device_sims import NRF_UNUSED_START, _profile_config, _sim_env, _start_sims, sink_md5  # noqa: F401

EXIT = {"updated": 0, "failed": 1, "none": 10, "cancelled": 11, "paused": 12, "applied": 13}
MAX_BOOTS = 6

DESCRIPTION_EPILOG = """exit codes: 0 updated, 1 failed (a failure code was reported), 10 no task,
11 task cancelled, 12 task paused, 13 applied but not confirmed, 2 usage/config error.
Credentials may come from ONENET_SERVER, ONENET_PRODUCT_ID, ONENET_ACCESS_KEY, ONENET_DEV_ID."""


def add_arguments(p):
    p.epilog = DESCRIPTION_EPILOG
    p.formatter_class = __import__("argparse").RawDescriptionHelpFormatter
    env = os.environ.get
    p.add_argument("--runtime", choices=("micropython", "cpython", "qemu", "unix32"), default="micropython",
                   help="micropython (unix port, 64-bit), cpython, qemu: the agent frozen "
                        "into a Cortex-M3 MicroPython under qemu-system-arm (nrf52832 only), "
                        "unix32: the 32-bit unix micropython with the ESP32 part frozen in "
                        "(esp32 only; both built by `onenet-ota firmware`)")
    p.add_argument("--server", default=env("ONENET_SERVER", "http://127.0.0.1:8080"),
                   help="OneNET OTA server URL (default: the local simulator)")
    p.add_argument("--board", default="esp32", choices=("esp32", "unix", "nrf52832", "gd32"),
                   help="board profile (esp32: two OTA slots over simulated flash; nrf52832: "
                        "AT modem + nrf.Flash region; gd32: ESP32 host programming a GD32)")
    p.add_argument("--modem", choices=("bc26", "m5311"), default="bc26",
                   help="nrf52832: the modem command set the simulated modem speaks")
    p.add_argument("--sim-fault", action="append", default=[], metavar="KEY=INT",
                   help="nrf52832: modem simulator fault (urc_storm, send_fail, open_fail, "
                        "drop_after, mute, delay_ms, bps); gd32: bootloader simulator fault "
                        "or setting (nack, timeout_write, bad_checksum, reset_after, erase_ms, "
                        "write_max, erase_cmd)")
    p.add_argument("--product-id", default=env("ONENET_PRODUCT_ID"))
    p.add_argument("--access-key", default=env("ONENET_ACCESS_KEY"),
                   help="product access key (never printed)")
    p.add_argument("--dev-id", default=env("ONENET_DEV_ID"))
    p.add_argument("--version", default="V1.0", help="version the device runs before the update")
    p.add_argument("--state-dir", default="state/device",
                   help="the device's filesystem and flash (kept between runs: resume)")
    p.add_argument("--sink", help="file:PATH to download into a file instead of the board's sink")
    p.add_argument("--chunk", type=int, default=None,
                   help="bytes per Range request (default 4096; 1024 on nrf52832)")
    p.add_argument("--heap", default="256k",
                   help="micropython heap (-X heapsize); qemu: the firmware's MICROPY_HEAP_SIZE "
                        "(one cached build per size)")
    p.add_argument("--slot-size", type=lambda s: int(s, 0), default=0x180000,
                   help="esp32: size of each OTA slot")
    p.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="any other agent setting, e.g. --set retries=1")
    p.add_argument("--cycles", type=_cycles, default=None, metavar="N",
                   help="run up to N agent cycles per boot while there is nothing to do, waiting between "
                        "them as the board's loop (runloop.main) does: for an MQTT inform (config mqtt) or "
                        "check_interval seconds (--set check_interval=S); default 1, or 1 + "
                        "$OTA_IDLE_CYCLES; not with --board nrf52832 or --runtime qemu")
    p.add_argument("--json", action="store_true", help="last line: a JSON summary")
    p.add_argument("--quiet", action="store_true", help="no agent log, no progress bar")


MAX_CYCLES = 10000


def _cycles(v):
    from ..cli import int_range

    return int_range(1, MAX_CYCLES)(v)


def _idle_env(args, env):
    # --cycles N: the shim's OTA_IDLE_CYCLES=N-1 (shim/ota_device.py: the cycles after the
    # first); without it an OTA_IDLE_CYCLES already in the environment passes as before.
    n = getattr(args, "cycles", None)
    if n is not None:
        env["OTA_IDLE_CYCLES"] = str(n - 1)
    return env


def _config(args):
    for k in ("product_id", "access_key", "dev_id"):
        if not getattr(args, k):
            raise CommandError("--%s is required (or ONENET_%s)" % (k.replace("_", "-"), k.upper()), 2)
    u = urlsplit(args.server if "://" in args.server else "http://" + args.server)
    cfg = {
        "board": args.board, "product_id": args.product_id, "dev_id": args.dev_id,
        "access_key": args.access_key, "host": u.hostname or "127.0.0.1",
        "port": u.port or (443 if u.scheme == "https" else 80), "tls": u.scheme == "https",
        "version": args.version, "chunk": args.chunk or (1024 if args.board == "nrf52832" else 4096), "backoff_ms": 200,
    }
    if args.sink:
        if not args.sink.startswith("file:"):
            raise CommandError("--sink: file:PATH", 2)
        cfg["sink"] = "file"
        cfg["sink_path"] = os.path.abspath(args.sink[5:])
    for kv in args.set:
        k, _, v = kv.partition("=")
        try:
            cfg[k] = json.loads(v)
        except ValueError:
            cfg[k] = v
    return cfg


def _seed_flash(state, args):
    # A factory-fresh esp32 stand-in: ota_0 holds a valid image of the current version.
    from ..images import make_app_image

    path = os.path.join(state, "esp32_ota_0.bin")
    if os.path.exists(path):
        return
    img = make_app_image(64 * 1024, args.version, seed=1)
    with open(path, "wb") as f:
        f.write(img + b"\xff" * (args.slot_size - len(img)))


class _Bar:
    def __init__(self, enabled):
        self.bar = None
        self.enabled = enabled

    def update(self, done, total):
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc="download", leave=False)
        self.bar.n = done
        self.bar.refresh()

    def close(self):
        if self.bar:
            self.bar.close()
            self.bar = None


def run_device(args, log=None):
    if getattr(args, "cycles", None) not in (None, 1) and (args.board == "nrf52832" or args.runtime == "qemu"):
        raise CommandError("--cycles: the nrf52832 boot runs one cycle (its loop is the board's main.py)", 2)
    # nrf52832/gd32: the modem or bootloader simulator lives for the whole run (all
    # boots); a caller may bring its own in args.sims (then it stops them itself).
    qemu = _qemu_firmware(args, log) if args.runtime == "qemu" else None
    if args.runtime == "unix32":
        _unix32_firmware(args, log)
    own = getattr(args, "sims", None) is None
    sims = _start_sims(args) if own else args.sims
    bridge = None
    try:
        if qemu:
            from ..qemu.run import Bridge

            bridge = Bridge(sims["modem"].port).start()
            qemu = (qemu, bridge)
        return _run_device(args, log, sims, qemu)
    finally:
        if bridge:
            bridge.stop()
        if own:
            for s in sims.values():
                s.stop()


def _qemu_firmware(args, log):
    # The Cortex-M3 firmware for this heap (built once, then cached).
    from ..fwbuild import build
    from ..fwbuild.source import SourceError

    if args.board != "nrf52832" or args.sink:
        raise CommandError("--runtime qemu: the nrf52832 profile only (its block sink)", 2)
    try:
        heap = build.parse_heap(args.heap)
    except ValueError as e:
        raise CommandError("--heap: %s" % e, 2)
    try:
        elf, _info = build.qemu_firmware(heap, log=log or (None if args.quiet else _stderr))
    except build.ToolchainMissing as e:
        raise CommandError(str(e), 2)
    except (build.BuildError, SourceError) as e:
        raise CommandError(str(e), 1)
    return elf


def _unix32_firmware(args, log):
    from ..fwbuild import build
    from ..fwbuild.source import SourceError

    if args.board != "esp32":
        raise CommandError("--runtime unix32: the esp32 profile only (its part is what is frozen)", 2)
    try:
        build.unix32_firmware(log=log or (None if args.quiet else _stderr))
    except build.ToolchainMissing as e:
        raise CommandError(str(e), 2)
    except (build.BuildError, SourceError) as e:
        raise CommandError(str(e), 1)


def _stderr(msg):
    print(msg, file=sys.stderr)


class _QemuProc:
    # A qemu boot behind the Popen-like surface the boot loop uses.
    def __init__(self, boot):
        self.boot = boot
        self.stdout = (l + "\n" for l in boot.lines())

    def wait(self):
        return self.boot.wait()

    def kill(self):
        self.boot.kill()


def _qemu_boot(args, cfgpath, qemu):
    from ..qemu.run import Boot, BootError

    elf, bridge = qemu
    with open(cfgpath) as f:
        text = f.read()
    stats = 1 if os.environ.get("OTA_HEAP_STATS") in ("1", "2") else 0
    try:
        return _QemuProc(Boot(elf, os.path.dirname(cfgpath), text, bridge.port, stats,
                              timeout=getattr(args, "boot_timeout", None) or 600))
    except BootError as e:
        raise CommandError(str(e), 1)


def _run_device(args, log, sims, qemu=None):
    # Boots the device until it has nothing more to do; returns (summary, boots).
    state = os.path.abspath(args.state_dir)
    os.makedirs(state, exist_ok=True)
    cfg = _config(args)
    _profile_config(args, cfg, sims)
    cfgpath = os.path.join(state, "config.json")
    fd = os.open(cfgpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f)
    if args.board == "esp32" and not args.sink:
        _seed_flash(state, args)
    script = os.path.join(SHIM, "nrf52_device.py" if args.board == "nrf52832" else "ota_device.py")
    total = {"bytes": 0, "requests": 0, "connections": 0, "seconds": 0.0}
    summary = None
    bar = _Bar(log is None and not args.quiet and sys.stderr.isatty())
    boots = 0
    t0 = time.monotonic()
    acted = None  # the last boot that reported a code
    resumed = -1
    for boots in range(1, MAX_BOOTS + 1):
        summary = None  # each boot must print its own
        if qemu:
            proc = _qemu_boot(args, cfgpath, qemu)
        else:
            cmd = runtimes.command(args.runtime, script, [cfgpath, str(args.slot_size)], args.heap)
            proc = subprocess.Popen(cmd, cwd=state, env=_idle_env(args, _sim_env(runtimes.run_env(args.runtime), sims)),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        bad_config = None
        try:
            for line in proc.stdout:
                line = line.rstrip("\n")
                if line.startswith("PROGRESS "):
                    _, d, t = line.split()
                    bar.update(int(d), int(t))
                elif line.startswith("SUMMARY "):
                    summary = _parse_summary(line[8:])
                elif line.startswith("CONFIGERROR "):
                    bad_config = line[12:]
                elif log:
                    log(line)
                elif not args.quiet:
                    bar.close()
                    print(line, file=sys.stderr)
        except BaseException:
            proc.kill()  # never leave a device process (qemu) behind
            raise
        rc = proc.wait()
        bar.close()
        if bad_config:
            raise CommandError("config: " + bad_config, 2)
        if summary is None:
            raise CommandError("the device crashed (exit %d): see the log above" % rc, 1)
        for k in ("bytes", "requests", "connections"):
            total[k] += summary.get(k) or 0
        if (summary.get("resumed_at") or -1) > resumed:
            resumed = summary["resumed_at"]
        if summary.get("code"):
            acted = summary
        if rc != 3:
            break
        note = "-- reset: boot %d --" % (boots + 1)
        if log:
            log(note)
        elif not args.quiet:
            print(note, file=sys.stderr)
    if summary.get("result") == "none" and acted and acted["code"] not in (101, 201):
        # A boot reported a failure and reset (self-test failed: the bootloader went
        # back to the old image, which then found nothing to do): the run failed.
        summary = dict(acted, result="failed")
    total["seconds"] = round(time.monotonic() - t0, 3)
    summary.update(total)
    summary["boots"] = boots
    summary["resumed_at"] = resumed
    summary["runtime"] = args.runtime
    size = summary.get("size")
    summary["sink_md5"] = sink_md5(state, cfg, size) if size else None
    if "bl" in sims:  # read back from the simulated MCU flash
        import hashlib

        summary["sink_md5"] = hashlib.md5(sims["bl"].image(size)).hexdigest() if size else None
        summary["mcu"] = dict(sims["bl"].stats)
    if "modem" in sims:
        summary["modem"] = dict(sims["modem"].stats)
    return summary


def run(args):
    summary = run_device(args)
    if args.json:
        print(json.dumps(summary))
    else:
        print("result: %(result)s  code: %(code)s  %(old_version)s -> %(new_version)s  "
              "bytes: %(bytes)d  requests: %(requests)d  connections: %(connections)d  "
              "seconds: %(seconds).2f" % summary)
    return EXIT.get(summary.get("result"), 1)


def _parse_summary(text):
    # A device without json (nrf52832) prints repr() of the summary dict.
    try:
        return json.loads(text)
    except ValueError:
        import ast

        return ast.literal_eval(text)
