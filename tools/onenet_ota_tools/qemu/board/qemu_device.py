# One boot of the nRF52832 profile on the qemu MPS2-AN385 board (frozen into the qemu
# firmware only). The host (onenet_ota_tools/qemu/run.py) runs, in the raw REPL, two
# programs one after the other:
#   import qemu_device; qemu_device.setup(CONFIG_JSON_TEXT)   (when there is a config)
#   import qemu_device; qemu_device.boot(STATS)
# so that the config text, a constant of the first program, is gone from the heap when
# the agent runs (a board finds config.json on its flash). boot() mounts littlefs on
# nrf.Flash() (formatting it on the first boot), runs the agent, and prints the same
# lines as the shim's ota_device.py: "PROGRESS done total", "HEAPSTATS {...}" (STATS),
# then "SUMMARY {repr}" and "EXIT n" (0 done, 2 bad config, 3 the agent reset the
# board); then it ends qemu (the port's machine.reset). The emulated flash is a host
# file: the next boot finds journal, version and image. `nrf` and `qemu_machine` are
# C modules of this firmware (qemu/cmod/qemu_board), as the nrf port's are C.
import gc
import sys

import builtins

import qemu_machine

sys.modules["machine"] = qemu_machine  # the agent's `import machine` gets UART and reset

# An nRF52832 build has no native emitters (MICROPY_EMIT_THUMB off at ROM_LEVEL_BASIC):
# code compiled on the board with @micropython.viper/native/asm_thumb is a SyntaxError
# there. ports/qemu has them on (and this board's own frozen modules use viper, compiled
# on the host); so that the agent takes the same paths and holds the same heap as on an
# nRF52832 (md5/sha1 fall back to pure Python), exec() refuses such source here too.
_exec = builtins.exec


def _nrf_exec(src, *args):
    if isinstance(src, str) and ("@micropython.viper" in src or "@micropython.native" in src
                                 or "@micropython.asm_thumb" in src):
        raise SyntaxError("invalid micropython decorator")
    return _exec(src, *args)


builtins.exec = _nrf_exec


def _mem():
    gc.collect()
    return gc.mem_alloc()


def mount():
    import os
    import vfs

    import nrf

    bdev = nrf.Flash()
    try:
        vfs.mount(vfs.VfsLfs2(bdev), "/")
    except OSError:
        vfs.VfsLfs2.mkfs(bdev)
        vfs.mount(vfs.VfsLfs2(bdev), "/")
    os.chdir("/")


def _write(path, text):
    f = open(path, "w")
    try:
        f.write(text)
    finally:
        f.close()


# Resident heap per module: the live heap (after a collection) before and after
# importing each module, in the order given (leaves first, so that each import loads
# that module alone; the modules each import pulled in are listed with it). Prints
# "HEAPMODS {...}" and "EXIT 0", then ends qemu.
def measure(names):
    start = _mem()
    seen = set(sys.modules)
    out = []
    for n in names:
        m0 = _mem()
        __import__("onenet_ota." + n)
        m = _mem()
        new = [k for k in sys.modules if k not in seen]
        seen.update(new)
        out.append((n, m - m0, new))
    print("HEAPMODS " + repr({"start": start, "mods": out, "end": _mem(),
                              "heap": gc.mem_alloc() + gc.mem_free()}))
    print("EXIT 0")
    qemu_machine.board_reset()


class _Stats:
    # Live heap (after a collection) at each phase and its peak during the download.
    def __init__(self):
        self.phases = []
        self.peak = 0
        self.n = 0

    def phase(self, name):
        self.phases.append((name, _mem()))

    def chunk(self):
        m = _mem()
        if m > self.peak:
            self.peak = m


def setup(cfg_text):
    import vfs

    mount()
    _write("config.json", cfg_text)
    vfs.umount("/")


def boot(stats=0):
    # A board runs main.py in a fresh interpreter; here the raw REPL's compile of this
    # call went first: its garbage goes before the agent's objects are laid down.
    gc.collect()
    st = _Stats() if stats else None
    if st:
        st.phase("start")
    mount()
    if st:
        st.phase("mounted")
    from onenet_ota import agent, runloop
    from onenet_ota.errors import ConfigError

    if st:
        st.phase("imported")
    code = 0
    try:
        cfg, b = runloop.start("config.json")  # as main.py's runloop.main: config.py leaves after
    except ConfigError as e:
        print("CONFIGERROR " + str(e))
        print("EXIT 2")
        qemu_machine.board_reset()
    if st:
        st.phase("config")
    last = [-1]

    def progress(done, total):
        if st:
            st.chunk()
        pct = done * 100 // total
        if pct != last[0]:
            last[0] = pct
            print("PROGRESS", done, total)

    a = agent.Agent(cfg, b, progress=progress)
    if st:
        st.phase("agent")
    try:
        s = a.run()
    except qemu_machine.Reset:
        s = a.summary
        s["result"] = "reset"
        code = 3
    if st:
        st.phase("end")
        print("HEAPSTATS " + repr({"phases": st.phases, "peak": st.peak, "heap": gc.mem_alloc() + gc.mem_free()}))
    print("SUMMARY " + repr(s))
    print("EXIT %d" % code)
    qemu_machine.board_reset()
