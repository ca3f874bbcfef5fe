# A board that keeps the package as a file (unix port, gateways): sockets, file sink.
metadata(version="0.1.0", description="OneNET OTA agent: file-sink (unix) profile")
add_library("onenet-ota", "..")
require("onenet-ota-socket", library="onenet-ota")
require("onenet-ota-file", library="onenet-ota")
