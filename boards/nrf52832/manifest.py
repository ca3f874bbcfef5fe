# An nRF52832 firmware with the agent frozen in (the board's 64 KiB filesystem cannot
# hold the modules as files): the nrf port's own modules and this board's part.
#   make -C ports/nrf BOARD=PCA10040 FROZEN_MANIFEST=$PWD/boards/nrf52832/manifest.py
include("$(PORT_DIR)/modules/manifest.py")
add_library("onenet-ota", "../../manifests")
require("onenet-ota-nrf52832", library="onenet-ota")
