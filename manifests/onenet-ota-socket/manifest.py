# Sockets and TLS (socket, select, ssl/tls): boards with a network stack.
metadata(version="0.1.0", description="OneNET OTA agent: socket/TLS transport")
add_library("onenet-ota", "..")
require("onenet-ota-core", library="onenet-ota")
package("onenet_ota", files=("transport.py",), base_path="../../firmware")
