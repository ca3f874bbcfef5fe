# USER_C_MODULES for the qemu MPS2-AN385 build: what littlefs needs from the port and
# ports/qemu lacks (a wall clock for file mtimes: the board has none, files get 1970).
QEMU_BOARD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(QEMU_BOARD_DIR)/time_ns.c
