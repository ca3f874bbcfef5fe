# onenet-ota download: the package, one range (hex dump) or all of it (resumable, MD5
# checked), through the firmware's own Api.fetch. The Session (server, --raw, exit
# codes) is session.py's; the token lookup (a check first) is calls.py's.
import hashlib
import os
import re
import stat
import sys

from onenet_ota.errors import NetError, OtaError, PlatformError, ProtocolError

from ..cli import CommandError, int_range
from .calls import check_options, token_of, valid_token
from .session import EXIT_FILE, EXIT_MD5, EXIT_USAGE, json_error, platform_call, session_arguments

EPILOG = """\
examples (the seed's "下载固件"):
  onenet-ota download --local --token ota_JcWgqjwXigKAfRayjjUW --range 0-5 --raw
  onenet-ota download --local --version V1.3 --chip esp32 -o fw.bin

--range SPEC sends one request with "Range: bytes=SPEC" (start-end, start- or -n)
and prints a hex dump (or writes -o FILE). Without --range the whole package is
fetched in ranges of --chunk bytes into FILE.part; an existing FILE.part is
continued from its size (so rerunning an interrupted download resumes it). When
complete, the MD5 is checked against --md5 or the task's md5 (from check): on a
match FILE.part becomes FILE; on a mismatch FILE.part is deleted (its bytes are
wrong, resuming from it cannot help; --keep-part keeps it) and the exit code is 5.
Without --token the token, size and md5 come from a check (give its options).
The download itself carries no Authorization (the token authorizes it)."""
_RANGE_RE = re.compile(r"^(\d*)-(\d*)$")
_CHUNK = 32768


def _hex_dump(data, base=0):
    lines = []
    for off in range(0, len(data), 16):
        row = data[off:off + 16]
        hx = " ".join("%02x" % x for x in row)
        asc = "".join(chr(x) if 32 <= x < 127 else "." for x in row)
        lines.append("%08x  %-47s  |%s|" % (base + off, hx, asc))
    return "\n".join(lines)


def download_arguments(p):
    p.add_argument("--token", help="the download token (default: from a check)")
    p.add_argument("--range", metavar="SPEC", dest="range_spec",
                   help="one request for bytes SPEC: START-END, START- or -N (e.g. 0-5)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write here (whole file default: TOKEN.bin; a --range without -o is hex-dumped)")
    p.add_argument("--md5", metavar="HEX", help="expected MD5 (default: the task's, from check)")
    p.add_argument("--size", type=int_range(1, 1 << 40), metavar="BYTES", help="package size, if known "
                   "(default: from check or the first answer's Content-Range)")
    p.add_argument("--chunk", type=int_range(2, 1 << 26), default=_CHUNK, metavar="BYTES",
                   help="bytes per ranged request (default %d; the platform wants >= 2)" % _CHUNK)
    p.add_argument("--keep-part", action="store_true", help="keep FILE.part on an MD5 mismatch")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (there is none "
                   "unless stderr is a terminal)")
    check_options(p, False)
    session_arguments(p, EPILOG)


def _refusal(c):
    # An answer without Content-Length: the platform's one-byte error, else a protocol error.
    buf = bytearray(16)
    try:
        n = c.read_body(buf)
    except ProtocolError:
        raise ProtocolError("download without Content-Length")
    # Section 10: codes 1-6, as an ASCII digit or as the raw byte value.
    if n == 1 and (1 <= buf[0] <= 6 or 49 <= buf[0] <= 54):
        raise PlatformError(1000 + (buf[0] - 48 if buf[0] >= 49 else buf[0]), "download refused")
    raise ProtocolError("download without Content-Length")


def _answer_head(c, st):
    """After a ranged GET: refusal / HTTP errors raised; -> body length (or -1: chunked)."""
    if c.length < 0 and not c.chunked:
        _refusal(c)
    if st not in (200, 206):
        c.drain()
        if st >= 500:
            raise NetError("HTTP %d" % st)
        raise ProtocolError("HTTP %d" % st)
    return c.length if not c.chunked else -1


def _range_download(s, a, tok):
    m = _RANGE_RE.match(a.range_spec.strip())
    if not m or a.range_spec.strip() == "-":
        raise CommandError("--range: START-END, START- or -N (e.g. 0-5)", EXIT_USAGE)
    c = s.client
    st = c.request("GET", "/ota/south/download/" + tok, (("Range", "bytes=" + a.range_spec.strip()),))
    n = _answer_head(c, st)
    if n < 0:
        buf = bytearray(1 << 24)
        n = c.read_body(buf)
        data = bytes(buf[:n])
    else:
        buf = bytearray(n)
        c.readinto(buf, n)
        data = bytes(buf)
    if st == 206:
        start, end, total = c.crange
        where = "bytes %d-%d/%d" % (start, end, total)
    else:
        start, end, total = 0, len(data) - 1, len(data)
        where = "the whole file (the server ignored the Range)"
    res = {"status": st, "start": start, "end": end, "total": total, "bytes": len(data)}
    clamped = _clamped(m, start, end, total)
    if clamped:
        # Said aloud (issue 17): the server answered fewer bytes than the range named.
        print("note: --range %s: %s" % (a.range_spec.strip(), clamped), file=sys.stderr)
        res["clamped"] = clamped
    if a.output:
        try:
            with open(a.output, "wb") as f:
                f.write(data)
        except OSError as e:
            raise CommandError("-o %s: %s" % (a.output, e.strerror or type(e).__name__), EXIT_FILE)
        s.out("HTTP %d: %s, %d bytes written to %s" % (st, where, len(data), a.output))
        res["file"] = a.output
    else:
        s.out("HTTP %d: %s (%d bytes)\n%s" % (st, where, len(data), _hex_dump(data, start)))
        res["hex"] = data.hex()
    return res


def _clamped(m, start, end, total):
    """Why an answer holds less than the range asked, or None (RFC 9110 14.1.2: a last
    position past the end, or a suffix longer than the file, is cut to the file)."""
    lo, hi = m.group(1), m.group(2)
    if lo and hi and int(hi) > end:
        return "clamped to %d-%d: the package has %d bytes (last byte %d)" % (start, end, total, total - 1)
    if not lo and hi and int(hi) > end - start + 1:
        return "the last %s bytes asked, the package has only %d: sent %d-%d" % (hi, total, start, end)
    return None


def check_output(path):
    """-o FILE (and FILE.part) must be a regular file or not exist yet, in a directory that
    does: a device (/dev/full, /dev/null), a FIFO or a directory is refused before any
    request -- a rename over it would replace the node, writing to it would block or fail."""
    for p in (path, path + ".part"):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise CommandError("-o %s: %s" % (p, e.strerror or type(e).__name__), EXIT_USAGE)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file")
            raise CommandError("-o %s: %s; give a regular file" % (p, kind), EXIT_USAGE)
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise CommandError("-o %s: no directory %s" % (path, d), EXIT_USAGE)
    if not os.access(d, os.W_OK):
        raise CommandError("-o %s: directory %s is not writable" % (path, d), EXIT_USAGE)


def _download(s, a):
    if a.output:
        check_output(a.output)
    tok, task = token_of(s, a)
    valid_token(tok)
    ip = (task or {}).get("ipPort")
    if ip:
        host, port = s.use_ip_port(ip)  # the package comes from the check's ipPort
        s.out("downloading from %s:%s (ipPort)" % (host, port))
    if s.platform != "legacy" and (a.range_spec or not (a.size or (task or {}).get("size"))):
        # fuse-ota / Studio: through the dialect's Api.fetch only (it needs the size)
        raise CommandError("--platform %s: give the check options or --size (no --range)" % s.platform, EXIT_USAGE)
    if a.range_spec:
        if a.md5:
            raise CommandError("--md5 checks the whole file; it does not go with --range", EXIT_USAGE)
        return _range_download(s, a, tok)
    expect = (a.md5 or (task or {}).get("md5") or "").lower() or None
    if expect and not re.match(r"^[0-9a-f]{32}$", expect):
        raise CommandError("--md5: 32 hex digits", EXIT_USAGE)
    md5_from = "--md5" if a.md5 else ("the task" if expect else None)
    total = a.size or (task or {}).get("size")
    out = a.output or tok + ".bin"
    check_output(out)
    part = out + ".part"
    have = os.path.getsize(part) if os.path.exists(part) else 0
    if total is not None and have > total:
        raise CommandError("%s has %d bytes, more than the package's %d: delete it" % (part, have, total),
                           EXIT_USAGE)
    resumed = have
    c = s.client
    api = s.api(auth=s.platform != "legacy")  # fuse-ota / Studio downloads carry the token
    path = "/ota/south/download/" + tok
    buf = bytearray(8192)  # written out as it comes: an interruption keeps all but < 8 KiB
    bar = None
    show_bar = sys.stderr.isatty() and not a.json and not a.no_progress
    requests = 0
    try:
        f = open(part, "ab")
    except OSError as e:
        raise CommandError("-o %s: %s" % (part, e.strerror or type(e).__name__), EXIT_FILE)
    try:
        while total is None or have < total:
            end = have + a.chunk - 1
            if total is None:
                # Size unknown (--token without --size): learn it from the first answer.
                st = c.send_range(path, have, end)
                requests += 1
                _answer_head(c, st)
                if st == 206:
                    have_start, have_end, total = c.crange
                    if have_start != have:
                        c.drain()
                        if have >= total:
                            break
                        raise ProtocolError("wrong Content-Range")
                    n = have_end - have + 1
                else:
                    total = c.length
                    n = total
            else:
                end = min(end, total - 1)
                n = api.fetch(tok, have, end, total)
                requests += 1
                st = c.status
            if bar is None and show_bar:
                import shutil

                from tqdm import tqdm

                # A terminal that reports no size (0x0) would get no bar at all.
                size = shutil.get_terminal_size((80, 24))
                bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                           file=sys.stderr, desc=os.path.basename(out), leave=True,
                           ncols=min(100, size.columns), nrows=size.lines)
            pos = 0 if st == 200 else have  # 200: the whole file from byte 0
            left = n
            while left:
                k = min(left, len(buf))
                c.readinto(buf, k)
                left -= k
                lo = max(0, have - pos)
                if lo < k:
                    f.write(memoryview(buf)[lo:k])
                    if bar is not None:
                        bar.update(k - lo)
                pos += k
                have = max(have, pos)
        f.close()
    except OtaError as e:
        f.close()
        e.hint = "; %d bytes kept in %s: run the same command again to resume" % (have, part)
        raise
    except OSError as e:  # ENOSPC, EIO: the disk, not the network
        try:
            f.close()
        except OSError:
            pass
        raise CommandError("-o %s: %s (%d bytes kept)" % (part, e.strerror or type(e).__name__, have), EXIT_FILE)
    finally:
        if bar is not None:
            bar.close()
    h = hashlib.md5()
    with open(part, "rb") as fp:
        for blk in iter(lambda: fp.read(1 << 20), b""):
            h.update(blk)
    got = h.hexdigest()
    res = {"file": out, "bytes": have, "total": total, "resumed_from": resumed, "fetched": have - resumed,
           "requests": requests, "md5": got, "expected_md5": expect, "md5_verified": False}
    if expect and got != expect:
        if not a.keep_part:
            os.remove(part)
        msg = "MD5 mismatch: got %s, expected %s (from %s); %s %s" % (
            got, expect, md5_from, part, "kept" if a.keep_part else "deleted")
        ce = CommandError(msg, EXIT_MD5)
        json_error(a, ce, dict(res, error="md5 mismatch"))
        raise ce
    os.replace(part, out)
    res["md5_verified"] = bool(expect)
    note = ("verified against %s" % md5_from) if expect else "NOT verified (no --md5 and no task md5)"
    s.out("saved %s: %d bytes%s, %d fetched in %d request%s; md5 %s %s" % (
        out, have, " (resumed at %d)" % resumed if resumed else "", have - resumed, requests,
        "" if requests == 1 else "s", got, note))
    return res



download = platform_call(_download)
