# End-to-end plumbing for the agent: a Simulator on loopback (port 0) in a tmp dir, an
# image builder, and helpers that boot the simulated device (`run_device`, the code
# behind `onenet-ota device`) on one runtime and inspect what it left behind.
import argparse
import hashlib
import os
import subprocess
import threading
import time

from onenet_ota_tools import SHIM, runtimes
from onenet_ota_tools.commands import device
from onenet_ota_tools.images import make_app_image
from onenet_ota_tools.sim import Simulator

PID = "123123"
KEY = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="
DEV = "5001"
OLD = "V1.3"
SLOT = 0x80000
HEAP = "256k"


def md5(b):
    return hashlib.md5(b).hexdigest()


def image(size, version, seed=3):
    return make_app_image(size, version, seed=seed)


class AgentEnv:
    def __init__(self, tmp, runtime):
        self.tmp = str(tmp)
        self.runtime = runtime
        self.state = os.path.join(self.tmp, "dev")
        self.sim = Simulator(os.path.join(self.tmp, "sim"), port=0)
        self.sim.start()
        self.sim.add_device(DEV, PID, KEY)
        self.log = []

    def stop(self):
        self.sim.stop()

    # -- simulator side ----------------------------------------------------------------
    def publish(self, data, target, **kw):
        kw.setdefault("interval", 0)
        kw.setdefault("retry", 3)
        return self.sim.publish(target, PID, KEY, DEV, data=data, name="fw.bin", **kw)

    def task(self, tid):
        return self.sim.task(tid)

    def events(self, kind=None, tid=None):
        return [e for e in self.sim.events(DEV, tid) if kind is None or e["kind"] == kind]

    def codes(self, tid):
        # Result codes (> 100) the device sent for task tid, in order, accepted or not.
        return [e["detail"]["step"] for e in self.events("progress", tid) if e["detail"]["step"] > 100]

    def steps(self, tid):
        return [e["detail"]["step"] for e in self.events("progress", tid) if e["detail"]["step"] <= 100]

    def device_version(self):
        for d in self.sim.devices():
            if d["dev_id"] == DEV:
                return d["s_version"]
        return None

    # -- device side -------------------------------------------------------------------
    def argv(self, sets=(), **kw):
        o = {"runtime": self.runtime, "server": self.sim.url, "product-id": PID, "access-key": KEY,
             "dev-id": DEV, "version": OLD, "state-dir": self.state, "slot-size": hex(SLOT),
             "heap": HEAP}
        o.update({k.replace("_", "-"): v for k, v in kw.items()})
        out = []
        for k, v in o.items():
            if v is not None:
                out += ["--" + k, str(v)]
        for s in ("backoff_ms=10",) + tuple(sets):
            out += ["--set", s]
        return out + ["--json", "--quiet"]

    def args(self, sets=(), **kw):
        p = argparse.ArgumentParser()
        device.add_arguments(p)
        return p.parse_args(self.argv(sets, **kw))

    def run(self, sets=(), **kw):
        from onenet_ota_tools.cli import CommandError

        self.log.append("--- run")
        try:
            return device.run_device(self.args(sets, **kw), log=self.log.append)
        except CommandError as e:
            raise AssertionError("%s\n%s" % (e, self.logtext()))

    def logtext(self):
        return "\n".join(self.log[-200:])

    def boot_until(self, pct, sets=(), timeout=30, **kw):
        # One boot of the device, killed (SIGKILL: a power loss) once it printed a
        # PROGRESS line at or past pct percent. Returns the bytes it had reported written.
        args = self.args(sets, **kw)
        os.makedirs(self.state, exist_ok=True)
        cfg = device._config(args)
        cfgpath = os.path.join(self.state, "config.json")
        import json

        with open(cfgpath, "w") as f:
            json.dump(cfg, f)
        if args.board == "esp32" and not args.sink:
            device._seed_flash(self.state, args)
        if args.runtime == "qemu":
            device._profile_config(args, cfg, {})  # the modem and its UART, as run_device
            with open(cfgpath, "w") as f:
                json.dump(cfg, f)
            return self._qemu_boot_until(args, cfgpath, pct, timeout)
        cmd = runtimes.command(args.runtime, os.path.join(SHIM, "ota_device.py"),
                               [cfgpath, str(args.slot_size)], args.heap)
        proc = subprocess.Popen(cmd, cwd=self.state, env=runtimes.run_env(args.runtime),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        seen = 0
        try:
            for line in proc.stdout:
                self.log.append(line.rstrip("\n"))
                if line.startswith("PROGRESS "):
                    _, d, t = line.split()
                    seen = int(d)
                    if seen * 100 >= pct * int(t):
                        proc.kill()
                        break
        finally:
            timer.cancel()
            proc.kill()
            proc.wait()
            proc.stdout.close()
        return seen

    def _qemu_boot_until(self, args, cfgpath, pct, timeout):
        # The same on the qemu board: its own modem simulator and UART bridge for this
        # one boot; qemu killed (the emulated flash is what was written by then).
        from onenet_ota_tools.modemsim import ModemSim
        from onenet_ota_tools.qemu.run import Boot, Bridge

        elf = device._qemu_firmware(args, self.log.append)
        modem = ModemSim(args.modem).start()
        bridge = boot = None
        seen = 0
        try:
            bridge = Bridge(modem.port).start()
            with open(cfgpath) as f:
                boot = Boot(elf, self.state, f.read(), bridge.port, timeout=timeout)
            for line in boot.lines():
                self.log.append(line)
                if line.startswith("PROGRESS "):
                    _, d, t = line.split()
                    seen = int(d)
                    if seen * 100 >= pct * int(t):
                        break
        finally:
            if boot:
                boot.kill()
            if bridge:
                bridge.stop()
            modem.stop()
        return seen

    # -- what the device left behind ------------------------------------------------------
    def path(self, name):
        return os.path.join(self.state, name)

    def journal_exists(self):
        return os.path.exists(self.path("ota.jrn"))

    def otadata(self):
        try:
            with open(self.path("esp32_otadata")) as f:
                return dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)
        except OSError:
            return {}

    def slot(self, label, n=None):
        with open(self.path("esp32_%s.bin" % label), "rb") as f:
            return f.read(n) if n else f.read()

    def write_module(self, name, text):
        os.makedirs(self.state, exist_ok=True)
        with open(self.path(name + ".py"), "w") as f:
            f.write(text)


def when_served(env, tid, nbytes, action, timeout=20):
    # A thread that calls action() once the simulator has served the task past nbytes.
    def watch():
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                if (env.sim.task(tid)["served"] or 0) >= nbytes:
                    action()
                    return
            except Exception:
                pass
            time.sleep(0.01)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    return th
