# Shim cases (esp32.Partition, nrf.Flash, flash rules, power cuts, rollback); run on
# CPython and MicroPython. Images come from $OTA_STATE_BASE (test_shim.py writes them).
import ota_shim

SLOT = 0x10000


def _img(name):
    f = open(ota_shim.base_dir() + "/" + name, "rb")
    d = f.read()
    f.close()
    return d


# n bytes at off of a state file (the whole file is compared by the pytest side).
def _file(name, off=0, n=-1):
    f = open(ota_shim.path(name), "rb")
    f.seek(off)
    d = f.read(n)
    f.close()
    return d


def _size(name):
    import os

    return os.stat(ota_shim.path(name))[6]


# True when the state file holds only 0xFF in [off, off+n).
def _erased(name, off, n):
    f = open(ota_shim.path(name), "rb")
    f.seek(off)
    while n > 0:
        b = f.read(min(n, 1024))
        if not b or b != b"\xff" * len(b):
            f.close()
            return False
        n -= len(b)
    f.close()
    return True


def _all_ff(b):
    return b == b"\xff" * len(b)


def _raises(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        return e.args[0]
    except Exception as e:
        return "wrong " + repr(e)
    return None


# Put an image into a slot through the block API (2-arg writeblocks, padded).
def _flash_image(p, img):
    n = 0
    while n < len(img):
        blk = bytearray(b"\xff" * 4096)
        chunk = img[n : n + 4096]
        blk[: len(chunk)] = chunk
        p.writeblocks(n // 4096, blk)
        n += 4096


def case_layout_info_find():
    ota_shim.fresh("layout", esp32_slot_size=SLOT)
    from esp32 import Partition

    run = Partition(Partition.RUNNING)
    nxt = run.get_next_update()
    out = {
        "running": run.info(),
        "next": nxt.info(),
        "boot": Partition(Partition.BOOT).info()[4],
        "apps": [p.info()[4] for p in Partition.find(Partition.TYPE_APP)],
        "ota1": [p.info()[4] for p in Partition.find(Partition.TYPE_APP, label="ota_1")],
        "data": [p.info()[4] for p in Partition.find(Partition.TYPE_DATA, subtype=0)],
        "blocks": [nxt.ioctl(4, 0), nxt.ioctl(5, 0)],
        "next_of_next": nxt.get_next_update().info()[4],
    }
    ota_shim.fresh("layout_factory", esp32_slot_size=SLOT, esp32_layout="factory")
    out["factory_running"] = Partition(Partition.RUNNING).info()[4]
    out["factory_next"] = _raises(Partition(Partition.RUNNING).get_next_update)
    out["by_label_missing"] = _raises(Partition, "ota_7")
    return out


def case_strict_flash():
    ota_shim.fresh("strict", esp32_slot_size=SLOT)
    from esp32 import Partition

    p = Partition("ota_1")
    out = {}
    p.ioctl(6, 1)
    p.writeblocks(1, b"\xf0\x0f\x00\xff", 10)  # erased: ok
    out["same_again"] = _raises(p.writeblocks, 1, b"\xf0\x0f\x00\xff", 10)  # no 0->1
    out["clear_more"] = _raises(p.writeblocks, 1, b"\x00", 10)  # 1->0 only: ok
    out["needs_erase"] = _raises(p.writeblocks, 1, b"\x0f", 11)  # same value: ok
    out["flip_up"] = _raises(p.writeblocks, 1, b"\xff", 12)  # 0x00 -> 0xff
    out["two_arg_len"] = _raises(p.writeblocks, 2, b"\x00" * 100)
    out["read_oob"] = _raises(p.readblocks, SLOT // 4096, bytearray(1))
    out["write_oob"] = _raises(p.writeblocks, SLOT // 4096 - 1, b"\x00" * 8, 4092)
    out["erase_oob"] = _raises(p.ioctl, 6, SLOT // 4096)
    buf = bytearray(6)
    p.readblocks(1, buf, 9)
    out["bytes"] = list(buf)
    from flashsim import FlashFile

    ff = FlashFile("x.bin", 8192)
    out["erase_misaligned"] = _raises(ff.erase, 100, 4096)
    out["erase_short"] = _raises(ff.erase, 0, 100)
    # lenient mode: NOR AND instead of an error
    ota_shim.CONFIG["strict"] = False
    p.writeblocks(1, b"\xff\x3c", 12)
    p.readblocks(1, buf, 12)
    out["lenient"] = list(buf[:2])
    ota_shim.CONFIG["strict"] = True
    out["file_len"] = _size("esp32_ota_1.bin")
    out["rest_erased"] = _erased("esp32_ota_1.bin", 0, 4096 + 9) and _erased("esp32_ota_1.bin", 4096 + 16, SLOT - 4096 - 16)
    return out


def case_powercut_tears_write():
    ota_shim.fresh("cut_write", esp32_slot_size=SLOT)
    from esp32 import Partition

    p = Partition("ota_1")
    p.ioctl(6, 0)
    n0 = ota_shim.op_count()
    ota_shim.cut_at(2)
    p.writeblocks(0, b"\x11" * 100, 0)  # op 1: whole
    swallowed = False
    try:
        try:
            p.writeblocks(0, b"\x22" * 100, 100)  # op 2: cut, first half lands
        except Exception:
            swallowed = True
        cut = False
    except ota_shim.PowerCut:
        cut = True
    d = _file("esp32_ota_1.bin", 0, 4096)
    p.writeblocks(0, b"\x33" * 10, 300)  # disarmed after firing
    return {
        "ops": ota_shim.op_count() - n0,
        "cut": cut,
        "swallowed": swallowed,
        "first": d[:100] == b"\x11" * 100,
        "torn": d[100:150] == b"\x22" * 50 and _all_ff(d[150:4096]),
    }


def case_powercut_tears_erase():
    ota_shim.fresh("cut_erase", esp32_slot_size=SLOT)
    from esp32 import Partition

    p = Partition("ota_1")
    p.ioctl(6, 0)
    p.writeblocks(0, b"\x00" * 4096, 0)
    ota_shim.cut_at(1)
    try:
        p.ioctl(6, 0)
        cut = False
    except ota_shim.PowerCut:
        cut = True
    d = _file("esp32_ota_1.bin", 0, 4096)
    return {"cut": cut, "half": _all_ff(d[:2048]) and d[2048:] == b"\x00" * 2048}


def case_bad_region():
    ota_shim.fresh("bad", esp32_slot_size=SLOT, bad_rate=0.5, bad_seed=7)
    from esp32 import Partition

    p = Partition("ota_1")
    fails = []
    for i in range(16):
        p.ioctl(6, i)
        try:
            p.writeblocks(i, b"\x00" * 4, 0)
        except OSError as e:
            fails.append(e.args[0])
    ota_shim.fresh("bad2", esp32_slot_size=SLOT, bad_blocks=(("esp32_ota_1.bin", 3),))
    p = Partition("ota_1")
    return {"fails": len(fails), "errno": fails[:1], "block3": _raises(p.writeblocks, 3, b"\x00", 5)}


def case_set_boot_validates():
    ota_shim.fresh("setboot", esp32_slot_size=SLOT)
    from esp32 import Partition

    out = {}
    for name in ("img_bad_sha.bin", "img_bad_sum.bin", "img_chip5.bin", "img_trunc.bin", "img_noseg.bin",
                 "img_rev4.bin", "img_rev1max.bin", "img_badaddr.bin", "img_iram_over.bin"):
        ota_shim.fresh("setboot", esp32_slot_size=SLOT)
        p = Partition(Partition.RUNNING).get_next_update()
        _flash_image(p, _img(name))
        before = _file("esp32_otadata")
        out[name] = _raises(p.set_boot)
        out[name + " unchanged"] = _file("esp32_otadata") == before and Partition(Partition.BOOT).info()[4] == "ota_0"
    ota_shim.fresh("setboot", esp32_slot_size=SLOT)
    p = Partition(Partition.RUNNING).get_next_update()
    out["erased"] = _raises(p.set_boot)
    _flash_image(p, _img("img_a.bin"))
    out["good"] = _raises(p.set_boot)
    out["boot"] = Partition(Partition.BOOT).info()[4]
    out["state"] = ota_shim.esp32_state()["st_ota_1"]
    return out


def case_rollback_without_mark():
    ota_shim.fresh("rollback", esp32_slot_size=SLOT)
    from esp32 import Partition

    seen = [ota_shim.boot()]
    p = Partition(Partition.RUNNING).get_next_update()
    _flash_image(p, _img("img_a.bin"))
    p.set_boot()
    seen.append(ota_shim.esp32_state()["st_ota_1"])
    seen.append(ota_shim.boot())  # first boot of the new image
    seen.append(ota_shim.esp32_state()["st_ota_1"])
    seen.append(Partition(Partition.RUNNING).info()[4])
    seen.append(ota_shim.boot())  # reset before mark_app_valid: rollback
    seen.append(ota_shim.esp32_state()["st_ota_1"])
    seen.append(ota_shim.boot())
    seen.append(Partition(Partition.RUNNING).get_next_update().info()[4])
    return seen


def case_mark_valid_keeps_image():
    ota_shim.fresh("markvalid", esp32_slot_size=SLOT)
    from esp32 import Partition

    ota_shim.boot()
    # a freshly flashed board: otadata is blank, ESP-IDF says ESP_FAIL
    seen = [_raises(Partition.mark_app_valid_cancel_rollback)]
    p = Partition(Partition.RUNNING).get_next_update()
    _flash_image(p, _img("img_a.bin"))
    p.set_boot()
    seen.append(ota_shim.boot())
    Partition.mark_app_valid_cancel_rollback()
    seen.append(ota_shim.esp32_state()["st_ota_1"])
    seen.append(ota_shim.boot())
    seen.append(ota_shim.boot())
    seen.append(ota_shim.esp32_state()["st_ota_1"])
    seen.append(Partition(Partition.RUNNING).get_next_update().info()[4])
    return seen


def case_strict_arguments():
    # esp32_partition.c: Partition(id[, block_size]) positionally only; no otadata
    # (the factory layout): mark_app_valid_cancel_rollback raises ESP_ERR_NOT_FOUND.
    ota_shim.fresh("strictargs", esp32_slot_size=SLOT)
    from esp32 import Partition

    out = {}
    out["kw"] = _exc(lambda: Partition(Partition.RUNNING, block_size=4096))
    out["three"] = _exc(lambda: Partition(Partition.RUNNING, 4096, 1))
    out["pos"] = Partition(Partition.RUNNING, 4096).info()[4]
    out["find_kw"] = [q.info()[4] for q in Partition.find(type=Partition.TYPE_APP, label="ota_1", block_size=4096)]
    ota_shim.fresh("strictargs", esp32_slot_size=SLOT, esp32_layout="factory")
    out["no_otadata"] = _raises(Partition.mark_app_valid_cancel_rollback)
    import machine

    out["reset_args"] = _exc(lambda: machine.reset(1))
    out["uart_id"] = _exc(lambda: machine.UART(3, 115200))
    out["uart_kw"] = _exc(lambda: machine.UART(1, 115200, speed=1))
    out["uart_bits"] = _exc(lambda: machine.UART(1, 115200, bits=9))
    out["uart_flow"] = _exc(lambda: machine.UART(1, 115200, flow=4))
    out["pin_bad"] = _exc(lambda: machine.Pin(24))
    out["pin_input_only"] = _exc(lambda: machine.Pin(34, machine.Pin.OUT))
    out["pin_ok"] = machine.Pin(5, machine.Pin.OUT, value=1).value()
    import network

    out["wlan_kw"] = _exc(lambda: network.WLAN(interface=network.STA_IF))
    out["wlan"] = network.WLAN(network.STA_IF).isconnected()
    return out


def _exc(f):
    try:
        f()
    except Exception as e:
        return type(e).__name__
    return None


def case_bootloader_rejects_overwritten_new_image():
    # set_boot, then the slot is written again before the reset: the bootloader's own
    # check fails and the previous image runs.
    ota_shim.fresh("overwritten", esp32_slot_size=SLOT)
    from esp32 import Partition

    ota_shim.boot()
    p = Partition(Partition.RUNNING).get_next_update()
    _flash_image(p, _img("img_a.bin"))
    p.set_boot()
    p.ioctl(6, 0)
    return [ota_shim.boot(), ota_shim.esp32_state()["st_ota_1"]]


def case_powercut_set_boot():
    ota_shim.fresh("cut_setboot", esp32_slot_size=SLOT)
    from esp32 import Partition

    ota_shim.boot()
    p = Partition(Partition.RUNNING).get_next_update()
    _flash_image(p, _img("img_a.bin"))
    ota_shim.cut_at(1)
    try:
        p.set_boot()
        cut = False
    except ota_shim.PowerCut:
        cut = True
    return [cut, ota_shim.boot(), ota_shim.esp32_state().get("st_ota_1")]


def case_reset_and_simulate():
    ota_shim.fresh("reset", esp32_slot_size=SLOT)
    import machine
    import network

    calls = []

    def main():
        calls.append(1)
        try:
            if len(calls) < 3:
                machine.reset()
        except Exception:
            return "swallowed"
        return "done"

    w = network.WLAN(network.STA_IF)
    return {
        "sim": ota_shim.simulate(main, boots=5),
        "boots": ota_shim.esp32_state()["boots"],
        "uid": len(machine.unique_id()),
        "wlan": [w.isconnected(), w.ifconfig()[0]],
    }


def case_nrf_flash():
    ota_shim.fresh("nrf", nrf_flash_size=0x20000, nrf_unused_start=0x10000, nrf_fs_start=0x1C000, nrf_fs_len=0x4000)
    import nrf

    out = {"unused": [nrf.unused_flash_start(), nrf.unused_flash_length()]}
    try:
        nrf.Flash(start=100, len=4096)
        out["bad_start"] = "accepted"
    except ValueError:
        out["bad_start"] = "ValueError"
    try:
        nrf.Flash(start=0x1F000, len=0x2000)
        out["past_end"] = "accepted"
    except ValueError:
        out["past_end"] = "ValueError"
    f = nrf.Flash(start=0x10000, len=0x2000)
    out["ioctl"] = [f.ioctl(4, 0), f.ioctl(5, 0)]
    f.writeblocks(0, b"\x01\x02\x03", 4094)  # crosses into page 1, no erase needed
    out["again"] = _raises(f.writeblocks, 0, b"\x07", 4094)
    f.ioctl(6, 0)
    f.writeblocks(0, b"\x07", 4094)
    f.writeblocks(1, b"\xaa" * 4096)  # 2-arg: erases page 1 first
    out["oob"] = _raises(f.writeblocks, 1, b"\x00" * 2, 4095)
    out["oob_erase"] = _raises(f.ioctl, 6, 2)
    out["oob_read"] = _raises(f.readblocks, 2, bytearray(1))
    out["len"] = _size("nrf_flash.bin")
    out["bytes"] = list(_file("nrf_flash.bin", 0x10000 + 4093, 5))
    out["rest"] = _erased("nrf_flash.bin", 0, 0x10000 + 4094) and _erased("nrf_flash.bin", 0x12000, 0xE000)
    out["fs"] = repr(nrf.Flash())
    return out


# Cross-process: the first process selects the new image; the second boots it.
def case_reboot_1():
    d = ota_shim.base_dir() + "/reboot"
    ota_shim.fresh("reboot", esp32_slot_size=SLOT)
    from esp32 import Partition

    p = Partition(Partition.RUNNING).get_next_update()
    _flash_image(p, _img("img_a.bin"))
    p.set_boot()
    return d


def case_reboot_2():
    ota_shim.install(ota_shim.base_dir() + "/reboot", esp32_slot_size=SLOT)
    from esp32 import Partition

    r = Partition(Partition.RUNNING)  # first use boots
    return [r.info()[4], ota_shim.esp32_state()["st_ota_1"]]
