# The qemu MPS2-AN385 (Cortex-M3) board: the nRF52832 part of the agent and the board
# modules that stand for the nrf port's (nrf.Flash over emulated RAM, machine.UART on
# the CMSDK UART1) plus the boot driver. Frozen only into `onenet-ota firmware`'s qemu
# build (see docs/qemu.md).
add_library("onenet-ota", "../../../../manifests")
require("onenet-ota-nrf52832", library="onenet-ota")
module("qemu_device.py")
