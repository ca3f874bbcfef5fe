// `nrf` for the qemu MPS2-AN385 board: the nrf port's flash block device
// (ports/nrf/modules/nrf/flashbdev.c, v1.28.0) over the board's 16 MiB PSRAM at
// 0x21000000, which the host backs with the state folder's nrf_flash.bin (qemu
// memory-backend-file, share=on: every store lands in the file, so a reset or a kill
// keeps what was written). Chip address A is byte A of the file.
//
// In C, as on the port, so that it costs the heap what the port's costs: Flash() is
// one static object, Flash(start=, len=) 12 bytes. As on the port: keyword-only
// start/len, page-aligned (else ValueError); 2-arg writeblocks erases the page first,
// 3-arg does not; ioctl 1..6 (6 erases one page); the buffer protocol reads the
// region. NOR semantics (ports/nrf/drivers/flash.c programs with NVMC: a write only
// clears bits) are modelled: a write stores old AND new. Unlike the port, an access
// past the 512 KiB chip raises OSError(EINVAL) instead of faulting the bus.
#include <string.h>

#include "py/runtime.h"
#include "py/mperrno.h"
#include "extmod/vfs.h"

#define CHIP_BASE (0x21000000u)
#define CHIP_SIZE (0x80000u)   // nRF52832: 512 KiB
#define PAGE (4096u)
#define UNUSED_START (0x3D000u) // unused_flash_start(): after a PCA10040 firmware with the agent
#define ROMFS_START (0x50000u)  // unused_flash_length() ends where the ROMFS region starts
#define FS_START (0x70000u)     // littlefs: the last 64 KiB, 16 blocks, as on a PCA10040
#define FS_LEN (0x10000u)

typedef struct _nrf_flash_obj_t {
    mp_obj_base_t base;
    uint32_t start;
    uint32_t len;
} nrf_flash_obj_t;

static const mp_obj_type_t nrf_flash_type;
static const nrf_flash_obj_t nrf_flash_fs = {{&nrf_flash_type}, FS_START, FS_LEN};

static uint8_t *chip(const nrf_flash_obj_t *self, mp_int_t block, mp_int_t off, size_t n) {
    mp_int_t a = (mp_int_t)self->start + block * (mp_int_t)PAGE + off;
    if (a < 0 || (size_t)a + n > CHIP_SIZE) {
        mp_raise_OSError(MP_EINVAL);
    }
    return (uint8_t *)(CHIP_BASE + (uint32_t)a);
}

static mp_obj_t nrf_flash_readblocks(size_t n_args, const mp_obj_t *args) {
    nrf_flash_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_buffer_info_t b;
    mp_get_buffer_raise(args[2], &b, MP_BUFFER_WRITE);
    mp_int_t off = n_args == 4 ? mp_obj_get_int(args[3]) : 0;
    memcpy(b.buf, chip(self, mp_obj_get_int(args[1]), off, b.len), b.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(nrf_flash_readblocks_obj, 3, 4, nrf_flash_readblocks);

static mp_obj_t nrf_flash_writeblocks(size_t n_args, const mp_obj_t *args) {
    nrf_flash_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_int_t block = mp_obj_get_int(args[1]);
    mp_buffer_info_t b;
    mp_get_buffer_raise(args[2], &b, MP_BUFFER_READ);
    mp_int_t off = 0;
    if (n_args == 4) {
        off = mp_obj_get_int(args[3]);
    } else {
        memset(chip(self, block, 0, PAGE), 0xff, PAGE);
    }
    uint8_t *d = chip(self, block, off, b.len);
    const uint8_t *s = b.buf;
    for (size_t i = 0; i < b.len; i++) {
        d[i] &= s[i];
    }
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(nrf_flash_writeblocks_obj, 3, 4, nrf_flash_writeblocks);

static mp_obj_t nrf_flash_ioctl(mp_obj_t self_in, mp_obj_t op_in, mp_obj_t arg_in) {
    nrf_flash_obj_t *self = MP_OBJ_TO_PTR(self_in);
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(self->len / PAGE);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(PAGE);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE:
            memset(chip(self, mp_obj_get_int(arg_in), 0, PAGE), 0xff, PAGE);
            return MP_OBJ_NEW_SMALL_INT(0);
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(nrf_flash_ioctl_obj, nrf_flash_ioctl);

static const mp_rom_map_elem_t nrf_flash_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&nrf_flash_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&nrf_flash_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&nrf_flash_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(nrf_flash_locals, nrf_flash_locals_table);

static void nrf_flash_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    nrf_flash_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "Flash(start=0x%08x, len=%u)", self->start, self->len);
}

static mp_obj_t nrf_flash_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum { ARG_start, ARG_len };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_start, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = -1} },
        { MP_QSTR_len, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = -1} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed), allowed, args);
    mp_int_t start = args[ARG_start].u_int, len = args[ARG_len].u_int;
    if (start == -1 && len == -1) {
        return MP_OBJ_FROM_PTR(&nrf_flash_fs);
    }
    if (start < 0 || start % PAGE || len <= 0 || len % PAGE) {
        mp_raise_ValueError(NULL);
    }
    nrf_flash_obj_t *self = mp_obj_malloc(nrf_flash_obj_t, &nrf_flash_type);
    self->start = start;
    self->len = len;
    return MP_OBJ_FROM_PTR(self);
}

static mp_int_t nrf_flash_get_buffer(mp_obj_t self_in, mp_buffer_info_t *b, mp_uint_t flags) {
    nrf_flash_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (flags != MP_BUFFER_READ || self->start + self->len > CHIP_SIZE) {
        return 1;
    }
    b->buf = (void *)(CHIP_BASE + self->start);
    b->len = self->len;
    b->typecode = 'B';
    return 0;
}

static MP_DEFINE_CONST_OBJ_TYPE(
    nrf_flash_type, MP_QSTR_Flash, MP_TYPE_FLAG_NONE,
    make_new, nrf_flash_make_new,
    print, nrf_flash_print,
    buffer, nrf_flash_get_buffer,
    locals_dict, &nrf_flash_locals
    );

static mp_obj_t nrf_unused_flash_start(void) {
    return mp_obj_new_int_from_uint(UNUSED_START);
}
static MP_DEFINE_CONST_FUN_OBJ_0(nrf_unused_flash_start_obj, nrf_unused_flash_start);

static mp_obj_t nrf_unused_flash_length(void) {
    return mp_obj_new_int_from_uint(ROMFS_START - UNUSED_START);
}
static MP_DEFINE_CONST_FUN_OBJ_0(nrf_unused_flash_length_obj, nrf_unused_flash_length);

static const mp_rom_map_elem_t nrf_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_nrf) },
    { MP_ROM_QSTR(MP_QSTR_Flash), MP_ROM_PTR(&nrf_flash_type) },
    { MP_ROM_QSTR(MP_QSTR_unused_flash_start), MP_ROM_PTR(&nrf_unused_flash_start_obj) },
    { MP_ROM_QSTR(MP_QSTR_unused_flash_length), MP_ROM_PTR(&nrf_unused_flash_length_obj) },
};
static MP_DEFINE_CONST_DICT(nrf_globals, nrf_globals_table);

const mp_obj_module_t qemu_nrf_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&nrf_globals,
};
MP_REGISTER_MODULE(MP_QSTR_nrf, qemu_nrf_module);
