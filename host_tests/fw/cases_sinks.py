# Sink cases (ESP32 slot, file, raw block device); run on CPython and MicroPython.
# Images are streamed from files in $OTA_STATE_BASE (test_sinks.py writes them), in
# odd chunk sizes, through one preallocated buffer, as a download would.
import ota_shim
from onenet_ota.errors import BadImage, NoSpace

SLOT = 0x10000
ODD = (1, 7, 63, 100, 4095, 4097, 333, 2048, 5000)
_buf = bytearray(5000)


def _size(name):
    import os

    return os.stat(ota_shim.base_dir() + "/" + name)[6]


# Stream image `name` from start into sink in chunks cycling through sizes; acked[0]
# counts bytes whose write() returned (what a journal would record).
def _stream(sink, name, sizes=ODD, start=0, acked=None):
    f = open(ota_shim.base_dir() + "/" + name, "rb")
    f.seek(start)
    mv = memoryview(_buf)
    i = 0
    pos = start
    try:
        while True:
            k = f.readinto(mv[: sizes[i % len(sizes)]])
            if not k:
                break
            sink.write(mv[:k])
            pos += k
            if acked is not None:
                acked[0] = pos
            i += 1
    finally:
        f.close()
    return pos


# Write the first n bytes of image `name` in chunks of `chunk`.
def _part(sink, name, n, chunk=4096):
    f = open(ota_shim.base_dir() + "/" + name, "rb")
    mv = memoryview(_buf)
    while n > 0:
        k = f.readinto(mv[: min(n, chunk)])
        sink.write(mv[:k])
        n -= k
    f.close()


# Compare what sink.readinto gives back with the image file.
def _same(sink, name):
    f = open(ota_shim.base_dir() + "/" + name, "rb")
    a = bytearray(512)
    b = bytearray(512)
    pos = 0
    ok = True
    while ok:
        k = f.readinto(a)
        if not k:
            break
        sink.readinto(pos, memoryview(b)[:k])
        ok = a[:k] == b[:k]
        pos += k
    f.close()
    return ok


def _count(kind):
    return len([1 for x in ota_shim.log if x[0] == kind])


def _esp(name, **kw):
    ota_shim.fresh(name, esp32_slot_size=SLOT, **kw)
    ota_shim.boot()
    from onenet_ota.sink_esp32 import Esp32Sink

    return Esp32Sink()


def case_esp32_odd_chunks():
    s = _esp("esp_odd")
    n = _size("img_a.bin")
    r = {"cap": s.capacity, "begin": s.begin(n)}
    ota_shim.record_ops([])
    _stream(s, "img_a.bin")
    r["erases"] = _count("erase")
    r["writes"] = _count("write")
    r["readback"] = _same(s, "img_a.bin")
    s.commit()
    ota_shim.record_ops(None)
    st = ota_shim.esp32_state()
    r["boot"] = [st["boot"], st["st_ota_1"]]
    return r


def case_esp32_header_rejected():
    out = {}
    for name in ("img_nomagic.bin", "img_noseg.bin", "img_chip5.bin", "img_nodesc.bin"):
        s = _esp("esp_hdr_" + name[4:-4])
        s.begin(_size(name))
        n0 = ota_shim.op_count()
        acked = [0]
        try:
            _stream(s, name, (10,), 0, acked)
            out[name] = "accepted"
        except BadImage as e:
            out[name] = [acked[0], ota_shim.op_count() - n0, str(e)]
    # the same header passes for a sink configured for that chip
    from onenet_ota.sink_esp32 import Esp32Sink

    s = _esp("esp_hdr_chip5_ok")
    s = Esp32Sink(chip_id=5)
    s.begin(_size("img_chip5.bin"))
    _stream(s, "img_chip5.bin")
    try:
        s.commit()  # the board (chip 0) rejects it in set_boot
        out["chip5_commit"] = "accepted"
    except BadImage as e:
        out["chip5_commit"] = str(e)
    out["chip5_boot"] = ota_shim.esp32_state()["boot"]
    return out


def case_esp32_no_space():
    s = _esp("esp_nospace")
    n0 = ota_shim.op_count()
    try:
        s.begin(SLOT + 1)
        r = "accepted"
    except NoSpace as e:
        r = [e.code, str(e)]
    return [r, s.begin(SLOT), ota_shim.op_count() - n0]


def case_esp32_bad_commit():
    out = {}
    for name in ("img_bad_sum.bin", "img_bad_sha.bin", "img_trunc.bin"):
        s = _esp("esp_badcommit")
        s.begin(_size(name))
        _stream(s, name)
        before = ota_shim.esp32_state()
        try:
            s.commit()
            out[name] = "accepted"
        except BadImage as e:
            out[name] = [e.code, str(e)]
        out[name + " boot"] = before == ota_shim.esp32_state() and ota_shim.esp32_state()["boot"]
    s = _esp("esp_incomplete")
    s.begin(_size("img_a.bin"))
    _part(s, "img_a.bin", 5000)
    try:
        s.commit()
        out["incomplete"] = "accepted"
    except BadImage as e:
        out["incomplete"] = str(e)
    s.abort()
    out["abort_erased_block0"] = s.readinto(0, bytearray(4)) == 4
    b = bytearray(64)
    s.readinto(0, b)
    out["abort_block0"] = b == b"\xff" * 64
    return out


def case_esp32_resume():
    s = _esp("esp_resume")
    n = _size("img_a.bin")
    s.begin(n)
    _part(s, "img_a.bin", 10000, 1000)
    # reboot: a new process would see the same files
    ota_shim.install(ota_shim.STATE_DIR, esp32_slot_size=SLOT)
    ota_shim.boot()
    from onenet_ota.sink_esp32 import Esp32Sink

    s = Esp32Sink()
    at = s.begin(n, 10000)
    _stream(s, "img_a.bin", (777, 4096), at)
    ok = _same(s, "img_a.bin")
    s.commit()
    return [at, ok, ota_shim.esp32_state()["boot"]]


# A power cut at every flash operation of a download, then a resume from the last
# acknowledged offset: the slot always ends up holding the image and set_boot passes.
def case_esp32_powercut_sweep():
    n = _size("img_a.bin")
    s = _esp("esp_sweep")
    s.begin(n)
    n0 = ota_shim.op_count()
    _stream(s, "img_a.bin", (1500,))
    total = ota_shim.op_count() - n0
    out = []
    from onenet_ota.sink_esp32 import Esp32Sink

    for i in range(1, total + 1):
        s = _esp("esp_sweep")
        s.begin(n)
        acked = [0]
        ota_shim.cut_at(i)
        try:
            _stream(s, "img_a.bin", (1500,), 0, acked)
            out.append([i, "no cut"])
            continue
        except ota_shim.PowerCut:
            pass
        ota_shim.install(ota_shim.STATE_DIR, esp32_slot_size=SLOT)
        ota_shim.boot()
        s = Esp32Sink()
        at = s.begin(n, acked[0])
        _stream(s, "img_a.bin", (1500,), at)
        ok = _same(s, "img_a.bin")
        try:
            s.commit()
            c = "ok"
        except BadImage as e:
            c = str(e)
        out.append([i, acked[0], at, ok, c])
    return {"ops": total, "runs": out}


def case_file_sink():
    d = ota_shim.fresh("file")
    from onenet_ota.sink_file import FileSink

    n = _size("img_a.bin")
    p = d + "/fw.bin"
    s = FileSink(p, capacity=30000)
    r = {"cap": s.capacity}
    try:
        s.begin(40000)
        r["nospace"] = "accepted"
    except NoSpace as e:
        r["nospace"] = e.code
    s.begin(n)
    _part(s, "img_a.bin", 12345)
    s.flush()
    s._close()  # power off without commit
    s = FileSink(p, capacity=30000)
    r["resume"] = s.begin(n, 5000)  # .part is cut to 5000 bytes
    import os

    r["part_len"] = os.stat(p + ".part")[6]
    _stream(s, "img_a.bin", ODD, 5000)
    r["readback"] = _same(s, "img_a.bin")
    s.commit()
    names = sorted(os.listdir(d))
    r["files"] = names
    s2 = FileSink(d + "/other.bin")
    s2.begin(10)
    s2.write(b"0123456789")
    s2.abort()
    r["after_abort"] = sorted(os.listdir(d))
    return r


def _nrf(name):
    ota_shim.fresh(name, nrf_flash_size=0x20000, nrf_unused_start=0x10000, nrf_fs_start=0x1C000, nrf_fs_len=0x4000)
    import nrf

    return nrf.Flash(start=0x10000, len=0x8000)


def case_block_sink():
    from onenet_ota.sink_block import BlockSink

    bdev = _nrf("block")
    s = BlockSink(bdev)
    n = _size("img_a.bin")
    r = {"cap": s.capacity, "h0": BlockSink.read_header(bdev)["state"]}
    try:
        s.begin(s.capacity + 1)
        r["nospace"] = "accepted"
    except NoSpace as e:
        r["nospace"] = e.code
    try:
        BlockSink(bdev, start_block=4, blocks=8)
        r["region"] = "accepted"
    except NoSpace as e:
        r["region"] = e.code
    s.begin(n)
    _stream(s, "img_a.bin")
    s.flush()
    r["h_before_commit"] = BlockSink.read_header(bdev)["state"]
    try:
        s.commit("00" * 16)
        r["wrong_md5"] = "accepted"
    except BadImage as e:
        r["wrong_md5"] = str(e)
    r["h_after_wrong"] = BlockSink.read_header(bdev)["state"]
    s.commit()
    r["h"] = BlockSink.read_header(bdev)
    # a bootloader marks it applied
    bdev.writeblocks(0, b"\x00\x00\x00\x00", 32)
    r["h_applied"] = BlockSink.read_header(bdev)["state"]
    # a new download destroys the old header first
    s.begin(_size("img_b.bin"))
    r["h_new_begin"] = BlockSink.read_header(bdev)["state"]
    return r


# Power cut at every flash operation while image A replaces a committed image B:
# the header never says "complete" unless the region holds the whole image it names.
def case_block_sink_powercut_sweep():
    from onenet_ota.sink_block import BlockSink

    na = _size("img_a.bin")

    def setup():
        bdev = _nrf("block_sweep")
        s = BlockSink(bdev)
        s.begin(_size("img_b.bin"))
        _stream(s, "img_b.bin")
        s.commit()
        return bdev, BlockSink(bdev)

    bdev, s = setup()
    n0 = ota_shim.op_count()
    s.begin(na)
    _stream(s, "img_a.bin", (3000,))
    s.commit()
    total = ota_shim.op_count() - n0
    md5_a = BlockSink.read_header(bdev)["md5"]
    out = []
    for i in range(1, total + 1):
        bdev, s = setup()
        ota_shim.cut_at(i)
        acked = [0]
        try:
            s.begin(na)
            _stream(s, "img_a.bin", (3000,), 0, acked)
            s.commit()
            out.append([i, "no cut"])
            continue
        except ota_shim.PowerCut:
            pass
        h = BlockSink.read_header(bdev)
        after = h["state"]
        if after == "complete":
            after += " " + ("A" if h["md5"] == md5_a and _same(s, "img_a.bin") else "WRONG")
        s = BlockSink(bdev)
        at = s.begin(na, acked[0])
        _stream(s, "img_a.bin", (3000,), at)
        s.commit()
        h = BlockSink.read_header(bdev)
        out.append([i, after, h["state"], h["md5"] == md5_a])
    return {"ops": total, "md5": md5_a, "runs": out}


# A RAM block device that itself allocates nothing per call (no slicing of the
# caller's buffer), to measure what the sinks allocate per write.
class _Ram:
    def __init__(self, blocks):
        self.d = bytearray(blocks * 4096)
        self.m = memoryview(self.d)
        self.n = blocks
        self.ff = b"\xff" * 4096

    def readblocks(self, b, buf, off=0):
        a = b * 4096 + off
        buf[:] = self.m[a : a + len(buf)]

    def writeblocks(self, b, buf, off=0):
        a = b * 4096 + off
        self.m[a : a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return 4096
        if op == 6:
            self.m[arg * 4096 : arg * 4096 + 4096] = self.ff
        return 0

    def set_boot(self):
        pass


def case_write_allocates_nothing():
    import gc

    if not hasattr(gc, "mem_alloc"):
        return "SKIP"
    from onenet_ota.sink_block import BlockSink
    from onenet_ota.sink_esp32 import Esp32Sink

    bufs = [bytearray(k) for k in (1, 7, 63, 100, 4095, 4097, 333)]
    hdr = bytearray(64)
    f = open(ota_shim.base_dir() + "/img_a.bin", "rb")
    f.readinto(hdr)
    f.close()
    out = {}
    gc.collect()
    for name in ("esp32", "block"):
        dev = _Ram(4)
        s = Esp32Sink(dev) if name == "esp32" else BlockSink(dev)
        s.begin(s.capacity)
        s.write(hdr)
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        n = 0
        for i in range(10):
            b = bufs[i % len(bufs)]
            s.write(b)
            n += len(b)
        out[name] = [gc.mem_alloc() - a0, n]
        gc.enable()
    return out
