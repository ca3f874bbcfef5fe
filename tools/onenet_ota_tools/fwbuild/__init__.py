"""Building MicroPython with a board's part of the agent frozen in (`onenet-ota firmware`).

`source.py`  where the MicroPython v1.28.0 source comes from (--micropython-src,
             MICROPYTHON_SRC, ../shared/vendor/, else the release download, hash checked);
`build.py`   the qemu Cortex-M3 firmware (ports/qemu, MPS2_AN385, nRF52832's module set)
             and the 32-bit unix build (ESP32 profile), cached by input hash under
             build/fw/.
"""
