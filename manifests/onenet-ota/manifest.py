# Every module of the agent (all board profiles).
metadata(version="0.1.0", description="OneNET OTA agent: all board profiles")
add_library("onenet-ota", "..")
require("onenet-ota-esp32", library="onenet-ota")
require("onenet-ota-nrf52832", library="onenet-ota")
require("onenet-ota-gd32", library="onenet-ota")
require("onenet-ota-unix", library="onenet-ota")
require("onenet-ota-imgauth", library="onenet-ota")
require("onenet-ota-mqtt", library="onenet-ota")
