# Freeze the agent into a MicroPython firmware build:
#   make -C ports/esp32 BOARD=ESP32_GENERIC BOARD_VARIANT=OTA FROZEN_MANIFEST=/path/to/onenet-ota/manifest.py
# (add `include("$(PORT_DIR)/boards/manifest.py")` first to keep the port's own modules).
include("$(PORT_DIR)/boards/manifest.py")
package("onenet_ota", base_path="firmware")
