# USER_C_MODULES for the qemu MPS2-AN385 build: what the nrf port has in C and ports/qemu
# lacks, in C so that it costs the heap what the port's costs (nothing, or a static
# object): `nrf` (Flash, unused_flash_*), the nRF52832's machine.UART and reset
# (`qemu_machine`), and a wall clock for littlefs's file mtimes (the board has none).
QEMU_BOARD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(QEMU_BOARD_DIR)/time_ns.c
SRC_USERMOD_C += $(QEMU_BOARD_DIR)/nrf_flash.c
SRC_USERMOD_C += $(QEMU_BOARD_DIR)/qemu_machine.c
