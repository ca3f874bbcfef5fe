# ESP32 with two OTA slots: sockets, the esp32.Partition sink and its app-header check.
metadata(version="0.1.0", description="OneNET OTA agent: ESP32 profile")
add_library("onenet-ota", "..")
require("onenet-ota-socket", library="onenet-ota")
package("onenet_ota", files=("board_esp32.py", "sink_esp32.py", "esp32img.py"), base_path="../../firmware")
