# nRF52832 (ports/nrf, minimal build: no hashlib, json, socket): an AT modem on a UART,
# the image in a block-device region of the MCU's flash.
metadata(version="0.1.0", description="OneNET OTA agent: nRF52832 + NB-IoT modem profile")
add_library("onenet-ota", "..")
require("onenet-ota-core", library="onenet-ota")
require("onenet-ota-nohashlib", library="onenet-ota")
require("onenet-ota-nojson", library="onenet-ota")
require("onenet-ota-uart", library="onenet-ota")
package("onenet_ota", files=("board_nrf52.py", "transport_at.py", "at_lines.py", "at_bc26.py", "at_m5311.py",
                             "sink_block.py"),
        base_path="../../firmware")
