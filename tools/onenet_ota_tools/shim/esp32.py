# Stand-in for MicroPython's `esp32` module: Partition over files in the shim's state
# directory, with ESP-IDF's OTA rules (set_boot validates the image, app rollback).
# MicroPython-compatible. See docs/shim.md for what is faithful and what is not.
import shimstate
from flashsim import FlashFile

try:
    import hashlib
except ImportError:
    hashlib = None

_ENOENT = 2
_EINVAL = 22
_ERR_OTA_VALIDATE_FAILED = -5379  # ESP_ERR_OTA_VALIDATE_FAILED as MicroPython raises it
_ERR_INVALID_SIZE = -260  # ESP_ERR_INVALID_SIZE
# check_esp_err (ports/esp32/mphalport.c) raises OSError(-code, name): ESP_FAIL (-1)
# becomes errno 1, ESP_ERR_NOT_FOUND (0x105) -261
_ERR_NOT_FOUND = -261
_FAIL = 1

# ESP32 memory map (ESP-IDF soc/esp32/include/soc/soc.h) for the bootloader's
# load-address check (esp_image_format.c verify_segment_header / should_load):
# (low, high, mapped from flash)
_ESP32_REGIONS = (
    (0x400D0000, 0x40400000, True),  # IROM (flash, instructions)
    (0x3F400000, 0x3F800000, True),  # DROM (flash, data)
    (0x40070000, 0x400A0000, False),  # IRAM
    (0x3FFAE000, 0x40000000, False),  # DRAM
    (0x400C0000, 0x400C2000, False),  # RTC fast memory (instruction bus)
    (0x3FF80000, 0x3FF82000, False),  # RTC fast memory (data bus)
    (0x50000000, 0x50002000, False),  # RTC slow memory
)
_STATE_FILE = "esp32_otadata"

# image states (esp_ota_img_states_t)
NEW = "NEW"
PENDING_VERIFY = "PENDING_VERIFY"
VALID = "VALID"
INVALID = "INVALID"
ABORTED = "ABORTED"
UNDEFINED = "UNDEFINED"

_files = {}
_state = None


def _forget():
    global _state
    _files.clear()
    _state = None
    _booted[0] = False


_booted = [False]
shimstate.forgets.append(_forget)  # a new boot re-reads the partitions and otadata


def _layout():
    # (type, subtype, addr, size, label)
    c = shimstate.CONFIG
    s = c["esp32_slot_size"]
    if s % 4096 or s <= 0:
        raise ValueError("esp32_slot_size: multiple of 4096")
    if c["esp32_layout"] == "factory":
        return (
            (1, 2, 0x9000, 0x6000, "nvs"),
            (1, 1, 0xF000, 0x1000, "phy_init"),
            (0, 0, 0x10000, s, "factory"),
        )
    return (
        (1, 2, 0x9000, 0x4000, "nvs"),
        (1, 0, 0xD000, 0x2000, "otadata"),
        (1, 1, 0xF000, 0x1000, "phy_init"),
        (0, 0x10, 0x10000, s, "ota_0"),
        (0, 0x11, 0x10000 + s, s, "ota_1"),
    )


def _apps():
    return [p for p in _layout() if p[0] == 0]


def _entry(label):
    for p in _layout():
        if p[4] == label:
            return p
    return None


def _flash(label):
    f = _files.get(label)
    if f is None:
        f = FlashFile("esp32_" + label + ".bin", _entry(label)[3], _ERR_INVALID_SIZE, _EINVAL)
        _files[label] = f
    return f


def _flash_raw(label, data, offset=0):
    _flash(label).raw(offset, data)


# --- persisted boot state ("otadata") ------------------------------------------------


def _load_state():
    global _state
    if _state is None:
        st = {"boot": "", "prev": "", "running": "", "boots": "0"}
        try:
            f = open(shimstate.path(_STATE_FILE))
            for line in f.read().split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    st[k] = v
            f.close()
        except OSError:
            pass
        _state = st
    return _state


def _img_state(label):
    return _load_state().get("st_" + label, UNDEFINED)


# One boot-selection write: counted; a cut one does not happen (ESP-IDF's otadata has
# two sectors with sequence numbers and CRCs, so it is either old or new).
def _save_state(st, kind="otadata"):
    if shimstate.tick(kind, _STATE_FILE):
        global _state
        _state = None
        raise shimstate.PowerCut
    keys = sorted(st)
    f = open(shimstate.path(_STATE_FILE), "w")
    f.write("".join(k + "=" + str(st[k]) + "\n" for k in keys))
    f.close()


def _default_app():
    return _apps()[0][4]


# Power-on (ota_shim.boot()): every stand-in forgets its cached state, then the
# bootloader chooses the slot to run, applies the rollback rules, persists.
def _boot():
    shimstate.forget()
    st = _load_state()
    sel = st["boot"] or _default_app()
    s = _img_state(sel)
    if s == PENDING_VERIFY:
        # reset before the new app marked itself valid: roll back
        st["st_" + sel] = ABORTED
        s = ABORTED
    if s == NEW:
        if _validate(sel) is None:
            st["st_" + sel] = PENDING_VERIFY
        else:
            st["st_" + sel] = INVALID
            s = INVALID
    if s in (ABORTED, INVALID):
        sel = st["prev"] or _default_app()
        if sel == st["boot"] or _img_state(sel) in (ABORTED, INVALID, PENDING_VERIFY):
            sel = _default_app()
        st["boot"] = sel
    st["running"] = sel
    st["boots"] = str(int(st["boots"]) + 1)
    _save_state(st, "boot")
    _booted[0] = True
    return sel


# --- ESP32 app image validation (esp_image_verify) -----------------------------------


# None when the image in `label` is valid, else a short reason.
def _validate(label):
    fl = _flash(label)
    size = fl.size
    hdr = bytearray(24)
    fl.read(0, hdr)
    if hdr[0] != 0xE9:
        return "magic"
    nseg = hdr[1]
    if nseg < 1 or nseg > 16:
        return "segment count"
    if hdr[12] | (hdr[13] << 8) != shimstate.CONFIG["esp32_chip_id"]:
        return "chip id"
    if hdr[23] > 1:
        return "hash_appended"
    # chip revision (bootloader_common_check_chip_validity): the legacy whole-number
    # minimum (byte 14) and the full minimum/maximum (bytes 15..18, major*100+minor)
    rev = shimstate.CONFIG["esp32_chip_rev"]
    lo = hdr[15] | hdr[16] << 8
    hi = hdr[17] | hdr[18] << 8
    if rev // 100 < hdr[14] or rev < lo or (hi != 0xFFFF and rev > hi):
        return "chip revision"
    sha = hashlib.sha256() if hashlib else None
    if sha:
        sha.update(hdr)
    buf = bytearray(1024)
    sh = bytearray(8)
    csum = 0xEF
    pos = 24
    for _ in range(nseg):
        if pos + 8 > size:
            return "segment past end"
        fl.read(pos, sh)
        if sha:
            sha.update(sh)
        n = sh[4] | sh[5] << 8 | sh[6] << 16 | sh[7] << 24
        pos += 8
        if n & 3 or pos + n > size:
            return "segment length"
        if hdr[12] | (hdr[13] << 8) == 0:  # ESP32: its memory map
            why = _load_addr(sh[0] | sh[1] << 8 | sh[2] << 16 | sh[3] << 24, n, pos)
            if why:
                return why
        while n:
            k = min(n, 1024)
            mv = memoryview(buf)[:k]
            fl.read(pos, mv)
            if sha:
                sha.update(mv)
            for b in mv:
                csum ^= b
            pos += k
            n -= k
    # padding, checksum byte in the last byte of a 16-byte block
    end = pos | 15
    if end + 1 > size:
        return "checksum past end"
    pad = memoryview(buf)[: end + 1 - pos]
    fl.read(pos, pad)
    if sha:
        sha.update(pad)
    if pad[-1] != csum:
        return "checksum"
    pos = end + 1
    if hdr[23] == 1 and sha:
        if pos + 32 > size:
            return "hash past end"
        want = bytearray(32)
        fl.read(pos, want)
        if sha.digest() != bytes(want):
            return "sha256"
    return None


# A segment [addr, addr+n) whose data sits at file offset `data`: inside one region;
# flash-mapped ones at the same offset within a 64 KiB MMU page as their data.
def _load_addr(addr, n, data):
    for lo, hi, mapped in _ESP32_REGIONS:
        if lo <= addr and addr + n <= hi:
            if mapped and (addr & 0xFFFF) != (data & 0xFFFF):
                return "load address 0x%08x does not match data offset 0x%x" % (addr, data)
            return None
    return "load address 0x%08x+%d outside memory" % (addr, n)


# --- Partition ---------------------------------------------------------------------


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    # esp32_partition.c: mp_arg_check_num(n_args, n_kw, 1, 2, false): (id[, block_size])
    # positionally only; a keyword is a TypeError.
    def __init__(self, *args, **kw):
        if kw:
            raise TypeError("function doesn't take keyword arguments")
        if not 1 <= len(args) <= 2:
            raise TypeError("function takes 1 or 2 positional arguments")
        id = args[0]
        block_size = args[1] if len(args) > 1 else 4096
        if id == Partition.RUNNING or id == Partition.BOOT:
            st = _load_state()
            if not _booted[0]:
                _boot()
                st = _load_state()
            label = st["running"] if id == Partition.RUNNING else (st["boot"] or _default_app())
        else:
            label = id
        e = _entry(label)
        if e is None:
            raise OSError(_ENOENT)
        self._e = e
        self.bs = block_size
        if e[0] == 0:
            _flash(label)  # app slots exist (erased) from the first look at them

    @staticmethod
    def find(type=0, subtype=0xFF, label=None, block_size=4096):
        return [
            Partition(p[4], block_size)
            for p in _layout()
            if p[0] == type and (subtype == 0xFF or p[1] == subtype) and (label is None or p[4] == label)
        ]

    def info(self):
        e = self._e
        return (e[0], e[1], e[2], e[3], e[4], False)

    def __repr__(self):
        e = self._e
        return "<Partition type=%d, subtype=%d, address=%d, size=%d, label=%s, encrypted=0>" % e

    def __eq__(self, other):
        return isinstance(other, Partition) and self._e == other._e

    def _fl(self):
        return _flash(self._e[4])

    def readblocks(self, block_num, buf, offset=0):
        self._fl().read(block_num * self.bs + offset, buf)

    def writeblocks(self, block_num, buf, offset=None):
        fl = self._fl()
        addr = block_num * self.bs
        if offset is None:
            # esp_partition_erase_range(addr, len(buf)) then write
            if len(buf) % 4096:
                raise OSError(_ERR_INVALID_SIZE, "writeblocks: len(buf) not a multiple of 4096")
            fl.erase(addr, len(buf))
        else:
            addr += offset
        fl.write(addr, buf)

    def ioctl(self, cmd, arg=None):
        if cmd == 4:
            return self._e[3] // self.bs
        if cmd == 5:
            return self.bs
        if cmd == 6:
            self._fl().erase(arg * self.bs, self.bs)
            return 0
        if cmd in (1, 2, 3):
            return 0
        return None

    def set_boot(self):
        e = self._e
        if e[0] != 0:
            raise OSError(_EINVAL)
        why = _validate(e[4])
        if why is not None:
            raise OSError(_ERR_OTA_VALIDATE_FAILED, "image invalid: " + why)
        st = dict(_load_state())
        if st["running"] and st["running"] != e[4]:
            st["prev"] = st["running"]
        st["boot"] = e[4]
        st["st_" + e[4]] = NEW
        _save_state(st)
        _reload(st)

    def get_next_update(self):
        apps = [p for p in _apps() if p[1] >= 0x10]
        if not apps:
            raise OSError(_ENOENT)
        # esp_ota_get_next_update_partition(self): the OTA slot after this one
        for i in range(len(apps)):
            if apps[i][4] == self._e[4]:
                return Partition(apps[(i + 1) % len(apps)][4], self.bs)
        return Partition(apps[0][4], self.bs)

    # esp_ota_mark_app_valid_cancel_rollback (esp_ota_ops.c): no otadata partition ->
    # ESP_ERR_NOT_FOUND; otadata blank (a freshly flashed board, set_boot never ran) ->
    # ESP_FAIL ("running firmware is factory"); else the running image becomes VALID.
    @staticmethod
    def mark_app_valid_cancel_rollback():
        if _entry("otadata") is None:
            raise OSError(_ERR_NOT_FOUND, "ESP_ERR_NOT_FOUND")
        st = dict(_load_state())
        if not _otadata_written(st):
            raise OSError(_FAIL, "ESP_FAIL")
        r = st["running"]
        if r and st.get("st_" + r) == PENDING_VERIFY:
            st["st_" + r] = VALID
            _save_state(st)
            _reload(st)



def _otadata_written(st):
    # set_boot (or a rollback) has written an otadata entry
    for k in st:
        if k.startswith("st_"):
            return True
    return False


def _reload(st):
    global _state
    _state = st
