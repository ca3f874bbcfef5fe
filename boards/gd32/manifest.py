# A gd32 firmware with the agent frozen in: the esp32 port's own modules (_boot, the
# filesystem set-up) and this board's part of the agent.
#   make -C ports/esp32 BOARD=ESP32_GENERIC BOARD_VARIANT=OTA FROZEN_MANIFEST=$PWD/boards/gd32/manifest.py
include("$(PORT_DIR)/boards/manifest.py")
add_library("onenet-ota", "../../manifests")
require("onenet-ota-gd32", library="onenet-ota")
