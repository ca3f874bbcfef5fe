# main.py for the unix port: `cd DEVICE_DIR && micropython main.py` (a deployed
# directory: lib/onenet_ota/, config.json). Same contract as the boards' main.py: any
# failure is printed, nothing blocks.
import sys

if "lib" not in sys.path:
    sys.path.append("lib")

CONFIG = "config.json"

try:
    from onenet_ota import agent

    agent.main(CONFIG)
except Exception as e:
    print("onenet_ota: agent stopped:", repr(e))
    sys.print_exception(e)
