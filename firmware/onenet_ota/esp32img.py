# First-bytes check of an ESP32 app image (what an OTA slot takes): reject a wrong
# package before anything is written. The full check (segments, checksum, SHA-256)
# is set_boot()'s job on the board.
from micropython import const

from .errors import BadImage

HEADER_LEN = const(64)  # bytes check_header needs


# Raise BadImage unless buf (>= 64 bytes) starts like an app image for chip_id:
# magic 0xE9, 1..16 segments, chip id (bytes 12-13 LE), hash_appended 0/1,
# app descriptor magic 0xABCD5432 at offset 32.
def check_header(buf, chip_id=0):
    if len(buf) < HEADER_LEN:
        raise BadImage("image header: short")
    if buf[0] != 0xE9:
        raise BadImage("image header: not an ESP32 app image")
    if buf[1] < 1 or buf[1] > 16:
        raise BadImage("image header: segment count")
    c = buf[12] | buf[13] << 8
    if c != chip_id:
        raise BadImage("image header: chip id %d, want %d" % (c, chip_id))
    if buf[23] > 1:
        raise BadImage("image header: hash flag")
    if buf[32] != 0x32 or buf[33] != 0x54 or buf[34] != 0xCD or buf[35] != 0xAB:
        raise BadImage("image header: no app descriptor")


# Version string of the app descriptor (offset 48, 32 bytes, NUL-padded); "" when
# empty (MicroPython builds leave it empty).
def version(buf):
    n = 48
    while n < 80 and buf[n] not in (0, 0xFF):
        n += 1
    return bytes(buf[48:n]).decode()
