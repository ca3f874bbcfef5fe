# Helpers of the shim that tests and harnesses use; reached as ota_shim.<name>
# (ota_shim's module __getattr__ loads this file on first use). MicroPython-compatible.
from shimstate import PowerCut, Reset, install, tick


# Test helper: an empty directory <base>/<name> (base: $OTA_STATE_BASE, else
# /tmp/ota_shim), installed as the state directory with config.
def fresh(name, **config):
    import os

    base = os.getenv("OTA_STATE_BASE") or "/tmp/ota_shim"
    for d in (base, base + "/" + name):
        try:
            os.mkdir(d)
        except OSError:
            pass
    d = base + "/" + name
    for f in os.listdir(d):
        os.remove(d + "/" + f)
    install(d, **config)
    return d


def base_dir():
    import os

    return os.getenv("OTA_STATE_BASE") or "/tmp/ota_shim"


# Wrap a module's _write(path, data) / _rename(src, dst) / _remove(path) functions
# (journal.py has them) so each counts as a flash operation and can be cut: a cut
# _write leaves the first half of the data in the file; a cut rename or remove does
# not happen (they are atomic on littlefs).
def count_fs(mod):
    w = getattr(mod, "_write", None)
    r = getattr(mod, "_rename", None)
    d = getattr(mod, "_remove", None)
    if w is not None and not getattr(mod, "_shim_counted", False):

        def _write(p, data):
            if tick("fwrite", p):
                w(p, data[: len(data) // 2])
                raise PowerCut
            w(p, data)

        mod._write = _write
    if r is not None and not getattr(mod, "_shim_counted", False):

        def _rename(a, b):
            if tick("rename", b):
                raise PowerCut
            r(a, b)

        mod._rename = _rename
    if d is not None and not getattr(mod, "_shim_counted", False):

        def _remove(p):
            if tick("remove", p):
                raise PowerCut
            d(p)

        mod._remove = _remove
    mod._shim_counted = True


# Run main() boot after boot: Reset (machine.reset) and PowerCut start a new boot;
# returns the list of outcomes ("reset", "cut", or main()'s value for the last boot).
def simulate(main, boots=3):
    import esp32

    out = []
    for _ in range(boots):
        esp32._boot()
        try:
            out.append(main())
            break
        except Reset:
            out.append("reset")
        except PowerCut:
            out.append("cut")
    return out


# Host helpers: read the ESP32 boot state, put bytes into a slot without counting.
def esp32_state():
    import esp32

    return dict(esp32._load_state())


def esp32_flash(label, data, offset=0):
    import esp32

    esp32._flash_raw(label, data, offset)
