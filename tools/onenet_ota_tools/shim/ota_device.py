# One boot of a simulated device, on CPython or the unix micropython (run with the
# device's "filesystem" as the current directory):
#   ota_device.py CONFIG.json [SLOT_SIZE]
# Prints "PROGRESS done total" lines and a last line "SUMMARY {json}". Exit code 3
# means the agent reset the device (machine.reset): the host boots it again.
import sys

import ota_shim


def main(argv):
    slot = int(argv[2]) if len(argv) > 2 else 0x180000
    # The device's filesystem is importable, as on a board (sys.path has ''): e.g. the
    # config's self_test module. Last, so it never shadows the firmware or the shim.
    if "" not in sys.path:
        sys.path.append("")
    ota_shim.install(".", esp32_slot_size=slot)
    from onenet_ota import agent, board, config

    cfg = config.load(argv[1])
    if cfg["sink"] == "esp32":
        ota_shim.boot()
    last = [-1]

    def progress(done, total):
        pct = done * 100 // total
        if pct != last[0]:
            last[0] = pct
            print("PROGRESS", done, total)

    a = agent.Agent(cfg, board.make(cfg), progress=progress)
    code = 0
    try:
        s = a.run()
    except ota_shim.Reset:
        s = a.summary
        s["result"] = "reset"
        code = 3
    try:
        import json

        print("SUMMARY " + json.dumps(s))
    except ImportError:
        print("SUMMARY " + repr(s))
    sys.exit(code)


main(sys.argv)
