// littlefs (extmod/vfs_lfs.c) stamps files with mp_hal_time_ns(); ports/qemu has no
// clock to give, like an nRF52832 without an RTC set: the Epoch.
#include <stdint.h>

uint64_t mp_hal_time_ns(void) {
    return 0;
}
