# Journal cases; run on CPython and MicroPython.
import ota_shim
from onenet_ota import journal
from onenet_ota.journal import Journal


def _rec(**kw):
    r = {
        "state": "dl",
        "token": "ota_5hc95SFeo5xJEnaNrste",
        "md5": "0123456789abcdef0123456789abcdef",
        "size": 20000,
        "target": "2.0.0",
        "offset": 8192,
        "from_ver": "1.0.0",
        "task_type": 1,
        "retries": 0,
        "boots": 0,
    }
    for k in kw:
        r[k] = kw[k]
    return r


def _raw(p):
    f = open(p, "rb")
    d = f.read()
    f.close()
    return d


def _put(p, data):
    f = open(p, "wb")
    f.write(data)
    f.close()


def _exists(p):
    import os

    try:
        os.stat(p)
        return True
    except OSError:
        return False


def case_round_trip():
    d = ota_shim.fresh("j_rt")
    j = Journal(d + "/journal")
    out = [j.load()]
    out.append(j.save(_rec()))
    out.append(j.save(_rec(offset=12288, retries=2)))
    j2 = Journal(d + "/journal")  # a new boot
    r = j2.load()
    out.append(r)
    out.append(j2.save(_rec(state="ready", offset=20000)))
    out.append(_raw(d + "/journal").decode())
    out.append(_exists(d + "/journal.tmp"))
    j2.clear()
    out.append([j2.load(), _exists(d + "/journal")])
    return out


# Cut a saved journal at every length: load() gives None (and removes the file), never
# an exception and never a half record.
def case_truncated_every_length():
    d = ota_shim.fresh("j_trunc")
    p = d + "/journal"
    j = Journal(p)
    j.save(_rec())
    full = _raw(p)
    bad = []
    for n in range(len(full)):
        _put(p, full[:n])
        try:
            r = Journal(p).load()
        except Exception as e:
            bad.append([n, repr(e)])
            continue
        if r is not None or _exists(p):
            bad.append([n, "kept"])
    _put(p, full)
    return [len(full), bad, Journal(p).load()["seq"]]


# Every single-byte change is caught (CRC-32).
def case_flipped_bytes():
    d = ota_shim.fresh("j_flip")
    p = d + "/journal"
    Journal(p).save(_rec())
    full = bytearray(_raw(p))
    kept = []
    for i in range(len(full)):
        for x in (0x01, 0x20):
            b = bytearray(full)
            b[i] ^= x
            _put(p, b)
            if Journal(p).load() is not None:
                kept.append([i, x])
    return kept


_VARIANTS = """good|state=dl|state=dl
state|state=dl|state=done
offset_gt_size|offset=8192|offset=20001
negative|retries=0|retries=-1
not_int|boots=0|boots=x
md5_upper|0123456789abcdef0123|0123456789ABCDEF0123
md5_short|0123456789abcdef0123|0123456789abcdef012
md5_nonhex|0123456789abcdef0123|0123456789abcdeg0123
token_space|ota_5hc95|ota 5hc95
token_empty|token=ota_5hc95SFeo5xJEnaNrste|token=
token_slash|ota_5hc95|ota/5hc95"""


# Records with a valid CRC but bad fields are discarded too.
def case_bad_fields():
    d = ota_shim.fresh("j_fields")
    p = d + "/journal"
    good = journal.encode(_rec(seq=1)).decode()
    body = good[: good.index("crc=")]

    def sealed(text):
        b = text.encode()
        return b + ("crc=%08x\n" % journal.crc32(b)).encode()

    # name|old|new: the good body with old replaced by new
    variants = [v.split("|") for v in _VARIANTS.split("\n")]
    variants += [
        ["target_long", "target=2.0.0", "target=" + "1" * 21],
        ["huge", "size=20000", "size=" + "9" * 11],
        ["unknown", "boots=0\n", "boots=0\nextra=1\n"],
        ["duplicate", "boots=0\n", "boots=0\nboots=0\n"],
        ["no_equals", "boots=0\n", "boots=0\njunk\n"],
        ["missing", "boots=0\n", ""],
    ]
    out = {}
    for k, old, new in variants:
        _put(p, sealed(body.replace(old, new)))
        r = Journal(p).load()
        out[k] = "ok" if r is not None else ("none removed" if not _exists(p) else "none kept")
    _put(p, b"\xff\xfe\x00crc=zz\n")
    out["garbage"] = repr(Journal(p).load())
    _put(p, b"x" * 2000)
    out["too_long"] = repr(Journal(p).load())
    try:
        Journal(p).save(_rec(token="a=b"))
        out["save_bad"] = "saved"
    except ValueError:
        out["save_bad"] = "ValueError"
    return out


# A power cut at every file operation of save(): load() then gives the old record
# or the new one, never None and never an exception.
def case_powercut_sweep():
    d = ota_shim.fresh("j_cut")
    p = d + "/journal"
    ota_shim.count_fs(journal)
    j = Journal(p)
    j.save(_rec(offset=4096))
    n0 = ota_shim.op_count()
    j.save(_rec(offset=8192))
    total = ota_shim.op_count() - n0
    out = []
    for i in range(1, total + 1):
        j = Journal(p)
        j.clear()
        j.save(_rec(offset=4096))
        ota_shim.cut_at(i)
        try:
            j.save(_rec(offset=8192))
            out.append([i, "no cut"])
            continue
        except ota_shim.PowerCut:
            pass
        try:
            r = Journal(p).load()
            out.append([i, r and r["offset"]])
        except Exception as e:
            out.append([i, repr(e)])
    return {"ops": total, "runs": out}


# The pure CRC-32 (ports without binascii.crc32) agrees with binascii's.
def case_crc_fallback():
    data = journal.encode(_rec(seq=3))
    a = journal.crc32(data)
    saved = journal._crc32
    journal._crc32 = None
    try:
        b = journal.crc32(data)
        c = journal.crc32(b"123456789")
    finally:
        journal._crc32 = saved
    return [a == b, "%08x" % c]


def case_slot():
    d = ota_shim.fresh("j_slot")
    j = Journal(d + "/journal")
    j.save(_rec(slot="ota_1"))
    out = [Journal(d + "/journal").load()["slot"]]
    data = _raw(d + "/journal")
    body = data[: data.find(b"slot=")]  # an older agent's record: no slot line
    old = body + b"crc=" + ("%08x" % journal.crc32(body)).encode() + b"\n"
    out.append(journal.parse(old)["slot"])
    bad = body + b"slot=ota 1\n"
    bad += b"crc=" + ("%08x" % journal.crc32(bad)).encode() + b"\n"
    out.append(str(journal.parse(bad)))
    return out
