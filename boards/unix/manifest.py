# A unix-port firmware with the file-sink profile frozen in (the port's own
# variants/manifest.py needs micropython-lib: add it first where you have that).
#   make -C ports/unix FROZEN_MANIFEST=$PWD/boards/unix/manifest.py
add_library("onenet-ota", "../../manifests")
require("onenet-ota-unix", library="onenet-ota")
