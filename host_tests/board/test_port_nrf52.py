# The nRF52832 profile of the shim against what ports/nrf really does (v1.28), on both
# runtimes: the UART model (argument spec, REPL attachment and os.dupterm, the 64-byte
# ring at the baud rate, flash stalls with and without RTS/CTS, Ctrl-C), the AT modem
# through it (network time, a REPL that was never detached), a static check of the
# firmware modules the profile loads for what the port cannot run, and the UART
# measurements of whole updates (bytes lost, throughput) per modem and flow control.
import ast
import os
import socket
import time

import pytest

from onenet_ota_tools import FIRMWARE, runtimes
from onenet_ota_tools.modemsim import ModemSim
from support.agent_env import AgentEnv, image, md5
from support.loopback import Server

RUNTIMES = ("cpython", "micropython")


class _Wire(Server):
    # The other end of UART0: "@SEND n\n" from the device -> n pattern bytes at once;
    # "@CTRLC\n" -> one 0x03. Everything else is recorded (print() on an attached REPL).
    def __init__(self):
        self.got = bytearray()
        Server.__init__(self, self._serve, backlog=2)

    def _serve(self, c):
        c.settimeout(0.2)
        buf = b""
        while not self.stop_.is_set():
            try:
                d = c.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(b"@SEND "):
                    n = int(line[6:])
                    c.sendall(bytes((i * 7 + 1) & 0x7F | 0x20 for i in range(n)))
                elif line == b"@CTRLC":
                    c.sendall(b"\x03")
                else:
                    self.got += line + b"\n"
        c.close()


UART_SCRIPT = r'''
import sys
import nrf52_port
nrf52_port.install()
import machine, nrf_uart, ota_shim, os, time
ota_shim.install(sys.argv[1])
out = {}
def exc(f):
    try:
        f()
    except Exception as e:
        return type(e).__name__ + ":" + str(e)
    return None
def drain(u, n, ms):
    got = 0
    t0 = time.ticks_ms()
    b = bytearray(64)
    while got < n and time.ticks_diff(time.ticks_ms(), t0) < ms:
        k = u.readinto(b)
        if k:
            got += k
    return got, time.ticks_diff(time.ticks_ms(), t0)
# uart.c: UART(id, baudrate, *, timeout=1, timeout_char=1), UART0 only
out["no_baud"] = exc(lambda: machine.UART(0))
out["uart1"] = exc(lambda: machine.UART(1, 115200))
out["pins"] = exc(lambda: machine.UART(0, 115200, tx=6, rx=8))
out["flow_kw"] = exc(lambda: machine.UART(0, 115200, flow=3))
out["bad_baud"] = exc(lambda: machine.UART(0, 300))
out["has_time"] = hasattr(time, "time")
out["viper"] = exc(lambda: exec("import micropython\n@micropython.viper\ndef f(x: int) -> int:\n    return x\n"))
import binascii
out["hexlify"] = hasattr(binascii, "hexlify") or hasattr(binascii, "crc32")
u = machine.UART(0, 115200, timeout=2, timeout_char=2)
out["same"] = machine.UART(0, 115200) is u
# attached to the REPL: received bytes go to stdin, print goes out on the UART
u.write(b"@SEND 40\n")
time.sleep_ms(40)
out["attached_any"] = u.any()
out["stdin"] = nrf_uart.stats["stdin"]
print("hello from the repl")
prev = os.dupterm(None)
out["prev_is_uart"] = prev is u
out["dupterm_idx"] = exc(lambda: os.dupterm(None, 1))
print("after detach")
# nobody reads for 60 ms while 300 bytes come: the ring keeps 63, drops the rest
u.write(b"@SEND 300\n")
time.sleep_ms(60)
out["ring"] = u.any()
out["lost_full"] = nrf_uart.stats["lost_full"]
drain(u, 63, 200)
# read as they come: 1150 bytes at 115200 baud take ~100 ms, none lost
u.write(b"@SEND 1150\n")
out["rate"] = drain(u, 1150, 3000)
out["lost_after_rate"] = nrf_uart.stats["lost_full"]
# a page erase (85 ms: the CPU stalls) while 1000 bytes come
import nrf
fl = nrf.Flash(start=nrf.unused_flash_start(), len=8192)
out["flash_pos"] = exc(lambda: nrf.Flash(0x3d000, 8192))
for hw in (True, False):
    ota_shim.CONFIG["nrf_hwfc"] = hw
    l0 = nrf_uart.stats["lost_stall"]
    u.write(b"@SEND 1000\n")
    t0 = time.ticks_us()
    fl.ioctl(6, 0)
    st = time.ticks_diff(time.ticks_us(), t0)
    got = drain(u, 1000, 400)[0]
    out["stall_%d" % hw] = [st, got, nrf_uart.stats["lost_stall"] - l0]
out["held_us"] = nrf_uart.stats["held_us"]
# Ctrl-C on an attached REPL interrupts the program, wherever it is: the 0x03 may come
# back while the request is still being written
os.dupterm(u)
try:
    u.write(b"@CTRLC\n")
    time.sleep_ms(30)
    u.any()
    out["ctrlc"] = None
except KeyboardInterrupt:
    out["ctrlc"] = "KeyboardInterrupt"
os.dupterm(None)
print("RESULT " + repr(out))
'''


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_nrf_uart_model(runtime, tmp_path, monkeypatch):
    w = _Wire()
    try:
        monkeypatch.setenv("OTA_UART", str(w.port))
        script = tmp_path / "uart_probe.py"
        script.write_text(UART_SCRIPT)
        p = runtimes.run(runtime, str(script), [str(tmp_path)], heap="256k", timeout=60)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
        assert lines, p.stdout + p.stderr
        r = ast.literal_eval(lines[-1][7:])
    finally:
        w.stop()
    assert r["no_baud"].startswith("TypeError") and r["pins"].startswith("TypeError")
    assert r["flow_kw"].startswith("TypeError")
    assert r["uart1"] == "ValueError:UART doesn't exist"
    assert r["bad_baud"] == "ValueError:UART baudrate not supported"
    assert r["has_time"] is False and r["hexlify"] is False
    assert r["viper"] == "SyntaxError:invalid micropython decorator"
    assert r["same"] is True
    # REPL attached: nothing reached the UART object, the 40 bytes went to stdin;
    # print went out on the wire, and stopped once detached
    assert r["attached_any"] == 0 and r["stdin"] >= 40
    assert b"hello from the repl\r\n" in bytes(w.got) and b"after detach" not in bytes(w.got)
    assert r["prev_is_uart"] is True and r["dupterm_idx"] == "ValueError:invalid dupterm index"
    # the 64-byte ring (63 usable) and what it dropped
    assert r["ring"] == 63 and r["lost_full"] == 300 - 63
    got, ms = r["rate"]
    assert got == 1150 and r["lost_after_rate"] == r["lost_full"]
    assert 85 <= ms <= 1000, ms  # 1150 bytes * 10 bits / 115200 = 100 ms on the line
    assert r["flash_pos"].startswith("TypeError")
    st, got, lost = r["stall_1"]  # RTS/CTS: the modem holds its bytes during the stall
    assert st >= 85000 and got == 1000 and lost == 0 and r["held_us"] >= 85000
    st, got, lost = r["stall_0"]  # no flow control: what comes during the stall is lost
    assert st >= 85000 and lost >= 900 and got + lost == 1000, r["stall_0"]
    assert r["ctrlc"] == "KeyboardInterrupt"


MODEM_SCRIPT = r'''
import sys
import nrf52_port
nrf52_port.install()
import machine, nrf_uart, ota_shim, os
ota_shim.install(sys.argv[1])
from onenet_ota.errors import Timeout
from onenet_ota.transport_at import AtModem
out = {}
m = AtModem(machine.UART(0, 115200), sys.argv[2], 300)
try:
    m.start()  # the REPL still has UART0: the answers go to stdin
    out["attached"] = "started"
except Timeout as e:
    out["attached"] = str(e)
out["stdin"] = nrf_uart.stats["stdin"]
os.dupterm(None)
m.start()
out["clock"] = m.clock()
m.cmd("AT+SIMFAULT=clock,0")
out["unset"] = m.clock()
m.cmd("AT+SIMFAULT=clock,1")
# the board profile: detaches the REPL itself, hands it back in release(), now()
os.dupterm(machine.UART(0, 115200))
from onenet_ota import board, board_nrf52, config
cfg = config.check({"product_id": "1", "dev_id": "2", "authorization": "version=1&sign=x",
                    "board": "nrf52832", "modem": sys.argv[2], "timeout_ms": 2000, "chunk": 1024})
b = board.make(cfg)
out["detached"] = not nrf_uart.repl[0]
out["now"] = b.now()
b.log("a line for the file")
out["logfile"] = open(board_nrf52.LOG).read()
board_nrf52.release()
out["released"] = nrf_uart.repl[0]
print("RESULT " + repr(out))
'''


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("kind", ("bc26", "m5311"))
def test_modem_through_nrf_uart(runtime, kind, tmp_path, monkeypatch):
    with ModemSim(kind) as sim:
        monkeypatch.setenv("OTA_UART", str(sim.port))
        script = tmp_path / "modem_probe.py"
        script.write_text(MODEM_SCRIPT)
        p = runtimes.run(runtime, str(script), [str(tmp_path), kind], heap="256k", timeout=120, cwd=str(tmp_path))
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
        assert lines, p.stdout + p.stderr
        r = ast.literal_eval(lines[-1][7:])
    assert r["attached"] == "modem: no answer" and r["stdin"] > 0
    assert abs(r["clock"] - time.time()) < 10, r  # AT+CCLK?: local time +32 quarter hours
    assert r["unset"] is None  # 70/01/01: never synchronised
    assert r["detached"] is True and r["released"] is True
    assert abs(r["now"] - time.time()) < 10 and r["logfile"] == "a line for the file\n"


# -- what the port cannot run, checked in the source ------------------------------------
# MICROPY_CONFIG_ROM_LEVEL_BASIC_FEATURES (ports/nrf/mpconfigport.h for NRF52832): no
# f-strings (MICROPY_PY_FSTRINGS), no bytes.hex (..._BYTES_HEX), no str.partition
# (..._STR_PARTITION), no native/viper/asm_thumb emitters (MICROPY_EMIT_THUMB,
# _INLINE_THUMB: EXTRA_FEATURES), binascii without hexlify/crc32, time without time().
# Source passed to exec() is not checked (the profile's exec raises SyntaxError on it).
_GUARDS = ("ImportError", "AttributeError", "Exception", "SyntaxError")


def nrf_violations(src, name="<src>"):
    tree = ast.parse(src, name)
    out = []
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            names = set()
            for h in node.handlers:
                t = h.type
                for e in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(e, ast.Name):
                        names.add(e.id)
            if names & set(_GUARDS):
                for b in node.body:
                    for sub in ast.walk(b):
                        guarded.add(id(sub))
    for node in ast.walk(tree):
        where = "%s:%d" % (name, getattr(node, "lineno", 0))
        if isinstance(node, ast.JoinedStr):
            out.append(where + " f-string")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            a = node.func.attr
            if a == "hex" and not node.args:
                out.append(where + " bytes.hex()")
            elif a in ("partition", "rpartition"):
                out.append(where + " str." + a)
            elif a == "time" and isinstance(node.func.value, ast.Name) and node.func.value.id == "time" \
                    and id(node) not in guarded:
                out.append(where + " time.time() unguarded")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                if isinstance(d, ast.Attribute) and d.attr in ("native", "viper", "asm_thumb"):
                    out.append(where + " @micropython." + d.attr)
        elif isinstance(node, ast.Attribute) and node.attr in ("hexlify", "unhexlify", "crc32") \
                and isinstance(node.value, ast.Name) and node.value.id == "binascii" and id(node) not in guarded:
            out.append(where + " binascii." + node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module == "binascii" and id(node) not in guarded:
            for a in node.names:
                if a.name in ("hexlify", "unhexlify", "crc32"):
                    out.append(where + " from binascii import " + a.name)
    return out


def test_static_checker_catches():
    bad = ("import binascii, time, micropython\n"
           "x = f'{1}'\n"
           "y = b'ab'.hex()\n"
           "z = 'a=b'.partition('=')\n"
           "t = time.time()\n"
           "h = binascii.hexlify(b'x')\n"
           "@micropython.viper\n"
           "def v(a: int) -> int:\n"
           "    return a\n")
    got = [v.split(" ", 1)[1] for v in nrf_violations(bad)]
    assert got == sorted(got, key=got.index) and set(got) == {
        "f-string", "bytes.hex()", "str.partition", "time.time() unguarded", "binascii.hexlify",
        "@micropython.viper"}, got
    ok = ("try:\n    from binascii import hexlify\nexcept ImportError:\n    hexlify = None\n"
          "try:\n    t = time.time()\nexcept AttributeError:\n    t = None\n"
          "exec('@micropython.viper\\ndef f(): pass')\n"
          "d = {}.get('hex')\n")
    assert nrf_violations(ok) == []


def _nrf_modules(tmp_path):
    # The firmware modules a whole nRF52832 update loads (nrf52_device.py's NRFMODS line).
    env = AgentEnv(tmp_path, "cpython")
    try:
        data = image(8 * 1024, "V1.4")
        env.publish(data, "V1.4", manuf="102", model="10201")
        from onenet_ota_tools.commands import device

        s = device.run_device(env.args(("timeout_ms=3000", "chunk=1024"), board="nrf52832", modem="m5311"),
                              log=env.log.append)
        assert s["result"] == "updated", env.logtext()
    finally:
        env.stop()
    mods = set()
    for ln in env.log:
        if ln.startswith("NRFMODS "):
            mods.update(ln[8:].split(","))
    return sorted(mods)


def test_nrf_profile_modules_static(tmp_path):
    mods = _nrf_modules(tmp_path)
    assert "onenet_ota.transport_at" in mods and "onenet_ota.sink_block" in mods and "onenet_ota.md5" in mods
    assert "onenet_ota.board_nrf52" in mods and "onenet_ota.agent" in mods
    bad = []
    for m in mods:
        path = os.path.join(FIRMWARE, *m.split(".")) + ".py"
        if not os.path.exists(path):
            path = os.path.join(FIRMWARE, *m.split("."), "__init__.py")
        with open(path) as f:
            bad += nrf_violations(f.read(), m)
    assert not bad, bad


# -- whole updates through the UART model: the measurements ------------------------------
def _update(tmp_path, runtime, modem, hwfc, monkeypatch, size=48 * 1024, sets=()):
    monkeypatch.setenv("OTA_NRF_HWFC", "1" if hwfc else "0")
    env = AgentEnv(tmp_path, runtime)
    try:
        data = image(size, "V1.4")
        t = env.publish(data, "V1.4", manuf="102", model="10201")
        from onenet_ota_tools.commands import device

        t0 = time.monotonic()
        s = device.run_device(env.args(("timeout_ms=3000", "chunk=1024") + tuple(sets), board="nrf52832",
                                       modem=modem), log=env.log.append)
        wall = time.monotonic() - t0
        stats = [ast.literal_eval(ln[10:]) for ln in env.log if ln.startswith("UARTSTATS ")]
        return s, data, env.codes(t["id"]), stats, env.logtext(), wall
    finally:
        env.stop()


@pytest.mark.parametrize("hwfc", (True, False), ids=("rtscts", "noflow"))
@pytest.mark.parametrize("modem", ("bc26", "m5311"))
def test_uart_loss_measured(tmp_path, monkeypatch, modem, hwfc):
    # CPython: the UART model's clock is this process's CPU time plus its sleeps, so
    # another process taking the host's CPU is not counted as the board's: the numbers
    # are the design's. With RTS/CTS the modem waits while flash is erased or written
    # (BC26: nothing comes unasked; M5311: held while the agent works, long ranges);
    # without, one chunk per range read whole before the agent works on it: no byte
    # lost at 115200 baud either way.
    # A board without RTS/CTS and an M5311 keeps one chunk per range (board_nrf52.check).
    sets = ("et_ttl=3600",) + (("request=1024",) if modem == "m5311" and not hwfc else ())
    s, data, codes, stats, log, wall = _update(tmp_path, "cpython", modem, hwfc, monkeypatch, sets=sets)
    assert s["result"] == "updated" and s["code"] == 201 and s["sink_md5"] == md5(data), log
    assert codes == [101, 201]
    boot = stats[0]  # the boot that downloaded
    lost = sum(st["lost_full"] + st["lost_stall"] for st in stats)
    print("\nUART %s %s: %d bytes received, lost %d (ring %d, stall %d), max ring fill %d, "
          "held %.2f s, %d stalls; %d image bytes in %.1f s, both boots (%.0f B/s)"
          % (modem, "rts/cts" if hwfc else "no flow control", boot["rx"], lost, boot["lost_full"],
             boot["lost_stall"], boot["max_fill"], boot["held_us"] / 1e6, boot["stalls"], len(data),
             s["seconds"], len(data) / s["seconds"]))
    assert lost == 0, stats
    assert boot["stalls"] >= 12 + 48 and (boot["held_us"] > 0) == hwfc  # 12 erases, 48 KiB written
    assert all(st["stdin"] == 0 and st["print_tx"] == 0 for st in stats)  # REPL detached first
    assert s["modem"]["unknown"] == 0  # nothing but AT commands reached the modem
    assert "(board clock)" in log  # the token's expiry from the modem's network time


@pytest.mark.parametrize("modem", ("bc26", "m5311"))
def test_uart_update_micropython(tmp_path, monkeypatch, modem):
    # The same on the unix micropython (no CPU clock there: a loaded host can make the
    # model drop a byte the board would not). Whatever it drops must never reach the
    # image: the transport refuses a +QIRD frame that lost bytes and M5311 hex that
    # does not decode, and the range is fetched again.
    s, data, codes, stats, log, wall = _update(tmp_path, "micropython", modem, True, monkeypatch)
    assert s["result"] == "updated" and s["code"] == 201 and s["sink_md5"] == md5(data), log
    lost = sum(st["lost_full"] + st["lost_stall"] for st in stats)
    print("\nUART micropython %s rts/cts: lost %d, %.0f B/s" % (modem, lost, len(data) / s["seconds"]))
    assert all(st["lost_stall"] == 0 for st in stats)  # RTS/CTS held the modem in every stall
