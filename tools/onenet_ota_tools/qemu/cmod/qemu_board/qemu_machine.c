// `qemu_machine` for the qemu MPS2-AN385 board (qemu_device puts it in
// sys.modules["machine"]): the nrf port's UART and reset on this board, every other
// name (Pin, mem32, idle, disable_irq, ...) from the port's own `machine`.
//
// UART, as ports/nrf/modules/machine/uart.c (v1.28.0) builds it: UART(id, baudrate, *,
// timeout=1, timeout_char=1), baudrate required and 1200..1000000 (ValueError), only
// id 0 (ValueError "UART doesn't exist"), one static object (no heap); the stream
// methods of extmod/machine_uart.c (read, readinto, readline, write) with the port's
// read: wait `timeout` ms for the first byte and `timeout_char` ms between bytes,
// EAGAIN (None) when nothing came; any(); deinit(); txdone(). It drives the board's
// CMSDK UART1 (0x40005000), which qemu wires to the modem simulator's socket. Unlike
// the port, the receive side is the UART's one-byte data register, not a 64-byte
// ring: qemu reads the socket only when it is empty, so nothing is lost (RTS/CTS as
// on a PCA10040), and any() is 0 or 1. Baud rate is not modelled.
//
// reset() and soft_reset() raise qemu_machine.Reset (a BaseException): qemu_device
// reports the boot, then board_reset() (the port's reset: a semihosting exit) ends qemu
// and the host boots the board again on the same flash file.
#include <stdlib.h>

#include "py/runtime.h"
#include "py/stream.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/objexcept.h"
#include "py/builtin.h"

#define UART1 ((volatile uint32_t *)0x40005000u) // DATA, STATE (bit 0 TX full, bit 1 RX full), CTRL, ..., BAUDDIV

typedef struct _qm_uart_obj_t {
    mp_obj_base_t base;
    uint16_t timeout;
    uint16_t timeout_char;
} qm_uart_obj_t;

static const mp_obj_type_t qm_uart_type;
static qm_uart_obj_t qm_uart0 = {{&qm_uart_type}, 1, 1};

static mp_obj_t qm_uart_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum { ARG_id, ARG_baudrate, ARG_timeout, ARG_timeout_char };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_id, MP_ARG_REQUIRED | MP_ARG_OBJ },
        { MP_QSTR_baudrate, MP_ARG_REQUIRED | MP_ARG_INT, {.u_int = 9600} },
        { MP_QSTR_timeout, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1} },
        { MP_QSTR_timeout_char, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed), allowed, args);
    if (mp_obj_get_int(args[ARG_id].u_obj) != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("UART doesn't exist"));
    }
    if (args[ARG_baudrate].u_int < 1200 || args[ARG_baudrate].u_int > 1000000) {
        mp_raise_ValueError(MP_ERROR_TEXT("UART baudrate not supported"));
    }
    qm_uart0.timeout = args[ARG_timeout].u_int;
    qm_uart0.timeout_char = args[ARG_timeout_char].u_int;
    UART1[4] = 16; // BAUDDIV (qemu ignores the rate)
    UART1[2] = 3; // CTRL: TX and RX enabled
    return MP_OBJ_FROM_PTR(&qm_uart0);
}

static mp_uint_t qm_uart_read(mp_obj_t self_in, void *buf_in, mp_uint_t size, int *errcode) {
    qm_uart_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint8_t *buf = buf_in;
    mp_uint_t t = mp_hal_ticks_ms() + self->timeout;
    for (mp_uint_t i = 0; i < size; i++) {
        while (!(UART1[1] & 2)) {
            if ((mp_int_t)(mp_hal_ticks_ms() - t) >= 0) {
                if (i == 0) {
                    *errcode = MP_EAGAIN;
                    return MP_STREAM_ERROR;
                }
                return i;
            }
        }
        buf[i] = UART1[0];
        t = mp_hal_ticks_ms() + self->timeout_char;
    }
    return size;
}

static mp_uint_t qm_uart_write(mp_obj_t self_in, const void *buf_in, mp_uint_t size, int *errcode) {
    const uint8_t *buf = buf_in;
    for (mp_uint_t i = 0; i < size; i++) {
        while (UART1[1] & 1) {
        }
        UART1[0] = buf[i];
    }
    return size;
}

static mp_uint_t qm_uart_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    if (request == MP_STREAM_POLL) {
        mp_uint_t ret = 0;
        if ((arg & MP_STREAM_POLL_RD) && (UART1[1] & 2)) {
            ret |= MP_STREAM_POLL_RD;
        }
        if ((arg & MP_STREAM_POLL_WR) && !(UART1[1] & 1)) {
            ret |= MP_STREAM_POLL_WR;
        }
        return ret;
    }
    if (request == MP_STREAM_FLUSH) {
        return 0;
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

static mp_obj_t qm_uart_any(mp_obj_t self_in) {
    return MP_OBJ_NEW_SMALL_INT(UART1[1] >> 1 & 1);
}
static MP_DEFINE_CONST_FUN_OBJ_1(qm_uart_any_obj, qm_uart_any);

static mp_obj_t qm_uart_txdone(mp_obj_t self_in) {
    return mp_obj_new_bool(!(UART1[1] & 1));
}
static MP_DEFINE_CONST_FUN_OBJ_1(qm_uart_txdone_obj, qm_uart_txdone);

static mp_obj_t qm_uart_init(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    mp_arg_parse_all(n_args - 1, args + 1, kw, 0, NULL, NULL); // the port takes none
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(qm_uart_init_obj, 1, qm_uart_init);

static mp_obj_t qm_uart_deinit(mp_obj_t self_in) {
    UART1[2] = 0;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(qm_uart_deinit_obj, qm_uart_deinit);

static void qm_uart_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    mp_printf(print, "UART(0)");
}

static const mp_rom_map_elem_t qm_uart_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_init), MP_ROM_PTR(&qm_uart_init_obj) },
    { MP_ROM_QSTR(MP_QSTR_deinit), MP_ROM_PTR(&qm_uart_deinit_obj) },
    { MP_ROM_QSTR(MP_QSTR_any), MP_ROM_PTR(&qm_uart_any_obj) },
    { MP_ROM_QSTR(MP_QSTR_txdone), MP_ROM_PTR(&qm_uart_txdone_obj) },
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&mp_stream_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_readline), MP_ROM_PTR(&mp_stream_unbuffered_readline_obj) },
    { MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&mp_stream_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&mp_stream_write_obj) },
};
static MP_DEFINE_CONST_DICT(qm_uart_locals, qm_uart_locals_table);

static const mp_stream_p_t qm_uart_stream = {
    .read = qm_uart_read,
    .write = qm_uart_write,
    .ioctl = qm_uart_ioctl,
    .is_text = false,
};

static MP_DEFINE_CONST_OBJ_TYPE(
    qm_uart_type, MP_QSTR_UART, MP_TYPE_FLAG_ITER_IS_STREAM,
    make_new, qm_uart_make_new,
    print, qm_uart_print,
    protocol, &qm_uart_stream,
    locals_dict, &qm_uart_locals
    );

MP_DEFINE_EXCEPTION(Reset, BaseException)

static mp_obj_t qm_reset(void) {
    mp_raise_type(&mp_type_Reset);
}
static MP_DEFINE_CONST_FUN_OBJ_0(qm_reset_obj, qm_reset);

static mp_obj_t qm_reset_cause(void) {
    return MP_OBJ_NEW_SMALL_INT(1); // PWRON_RESET
}
static MP_DEFINE_CONST_FUN_OBJ_0(qm_reset_cause_obj, qm_reset_cause);

static mp_obj_t qm_board_reset(void) {
    exit(0); // ports/qemu/modmachine.c: the port's reset ends qemu (semihosting)
}
static MP_DEFINE_CONST_FUN_OBJ_0(qm_board_reset_obj, qm_board_reset);

static mp_obj_t qm_getattr(mp_obj_t name) {
    return mp_load_attr(MP_OBJ_FROM_PTR(&mp_module_machine), mp_obj_str_get_qstr(name));
}
static MP_DEFINE_CONST_FUN_OBJ_1(qm_getattr_obj, qm_getattr);

// The import of a built-in module looks up __init__ (py/objmodule.c), which would
// otherwise go to __getattr__ and the port's machine, which has none.
static mp_obj_t qm_init(void) {
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(qm_init_obj, qm_init);

static const mp_rom_map_elem_t qm_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_qemu_machine) },
    { MP_ROM_QSTR(MP_QSTR___init__), MP_ROM_PTR(&qm_init_obj) },
    { MP_ROM_QSTR(MP_QSTR___getattr__), MP_ROM_PTR(&qm_getattr_obj) },
    { MP_ROM_QSTR(MP_QSTR_UART), MP_ROM_PTR(&qm_uart_type) },
    { MP_ROM_QSTR(MP_QSTR_Reset), MP_ROM_PTR(&mp_type_Reset) },
    { MP_ROM_QSTR(MP_QSTR_reset), MP_ROM_PTR(&qm_reset_obj) },
    { MP_ROM_QSTR(MP_QSTR_soft_reset), MP_ROM_PTR(&qm_reset_obj) },
    { MP_ROM_QSTR(MP_QSTR_reset_cause), MP_ROM_PTR(&qm_reset_cause_obj) },
    { MP_ROM_QSTR(MP_QSTR_board_reset), MP_ROM_PTR(&qm_board_reset_obj) },
};
static MP_DEFINE_CONST_DICT(qm_globals, qm_globals_table);

const mp_obj_module_t qemu_machine_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&qm_globals,
};
MP_REGISTER_MODULE(MP_QSTR_qemu_machine, qemu_machine_module);
