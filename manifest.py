# Freeze the agent into a MicroPython firmware build (works on every port: it names no
# port folder). Every board profile's modules; a board's own part alone is
# manifests/onenet-ota-<board>/manifest.py, and boards/<board>/manifest.py adds the
# port's own frozen modules, e.g.
#   make -C ports/esp32 BOARD=ESP32_GENERIC BOARD_VARIANT=OTA \
#        FROZEN_MANIFEST=/path/to/onenet-ota/boards/esp32/manifest.py
#   onenet-ota firmware --board nrf52832   (the qemu Cortex-M3 build, see docs/qemu.md)
add_library("onenet-ota", "manifests")
require("onenet-ota", library="onenet-ota")
