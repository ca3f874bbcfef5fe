"""`onenet-ota device`, the boards' side: the nrf52832 modem and gd32 bootloader
simulators on loopback (started for a run, one for all boots), the profile settings a
run adds to the config, and reading back what the device now holds (sink_md5: the
ESP32 boot partition, a file sink, the nrf52832 region)."""
import os

from ..cli import CommandError

# -- nrf52832 / gd32: simulators on loopback -------------------------------------------

NRF_UNUSED_START, NRF_UNUSED_LEN = 0x3D000, 0x13000  # the shim's nrf defaults (a real nRF52832, docs/shim.md)


def _sim_faults(args):
    out = {}
    for kv in getattr(args, "sim_fault", None) or []:
        k, _, v = kv.partition("=")
        try:
            out[k] = int(v, 0)
        except ValueError:
            raise CommandError("--sim-fault %s: KEY=INT" % kv, 2)
    return out


def _start_sims(args):
    sims = {}
    try:
        if args.board == "nrf52832":
            from ..modemsim import ModemSim

            sims["modem"] = ModemSim(args.modem, **_sim_faults(args)).start()
        elif args.board == "gd32":
            from ..blsim import BootloaderSim

            sims["bl"] = BootloaderSim(**_sim_faults(args)).start()
    except (TypeError, ValueError) as e:
        for s in sims.values():
            s.stop()
        raise CommandError("--sim-fault: %s" % e, 2)
    return sims


def _profile_config(args, cfg, sims):
    if args.board == "nrf52832":
        cfg.setdefault("modem", args.modem)
        cfg.setdefault("uart", {"id": 0, "baud": 115200})
    elif args.board == "gd32":
        bl = sims.get("bl")
        g = dict(cfg.get("gd32") or {})
        g.setdefault("uart", {"id": 1, "baud": 115200})
        if bl:
            g.setdefault("write_max", bl.write_max)
            g.setdefault("pages", bl.pages)
            g.setdefault("page_size", bl.page_size)
            g.setdefault("base", bl.base)
        cfg["gd32"] = g


def _sim_env(env, sims):
    s = sims.get("modem") or sims.get("bl")
    if s:
        env["OTA_UART"] = str(s.port)
    return env


def sink_md5(state, cfg, size):
    # MD5 of the first `size` bytes of what the device now boots / holds.
    import hashlib

    if cfg["board"] == "nrf52832" and cfg.get("sink") != "file":
        return _nrf_region_md5(state, size)

    if cfg.get("sink") == "file" or cfg["board"] != "esp32":
        path = cfg.get("sink_path") or os.path.join(state, "ota_package.bin")
        path = path if os.path.isabs(path) else os.path.join(state, path)
    else:
        st = {}
        try:
            with open(os.path.join(state, "esp32_otadata")) as f:
                st = dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)
        except OSError:
            pass
        path = os.path.join(state, "esp32_%s.bin" % (st.get("boot") or "ota_0"))
    try:
        with open(path, "rb") as f:
            return hashlib.md5(f.read(size)).hexdigest()
    except OSError:
        return None


def _nrf_region_md5(state, size):
    import hashlib

    try:
        with open(os.path.join(state, "nrf_flash.bin"), "rb") as f:
            f.seek(NRF_UNUSED_START + 4096)  # block 0 of the region is the header
            return hashlib.md5(f.read(size)).hexdigest()
    except OSError:
        return None
