# GD32 target programmed through its ROM USART bootloader by an ESP32 network module
# (the package is staged in a file first).
metadata(version="0.1.0", description="OneNET OTA agent: GD32 (AN3155 bootloader) profile")
add_library("onenet-ota", "..")
require("onenet-ota-socket", library="onenet-ota")
require("onenet-ota-uart", library="onenet-ota")
require("onenet-ota-file", library="onenet-ota")
package("onenet_ota", files=("board_gd32.py", "sink_gd32.py"), base_path="../../firmware")
