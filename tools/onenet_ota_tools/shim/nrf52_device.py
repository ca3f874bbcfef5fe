# One boot of a simulated nRF52832 (`onenet-ota device --board nrf52832`): the board
# profile is put in place first (nrf52_port.py: hidden modules and names, the port's
# UART model with UART0 attached to the REPL, os.dupterm, flash stalls), then
# ota_device.py runs as for any board. Last lines: "UARTSTATS {...}" (the UART model's
# counters: bytes received, lost to a full ring or a stall, sent to stdin while the
# REPL was attached, print bytes that went out on UART0) and "NRFMODS a,b,..." (the
# firmware modules this boot loaded, for the static checks of what the port lacks).
import sys

import nrf52_port
import nrf_uart

nrf52_port.install()
try:
    import ota_device  # noqa: E402,F401  (runs the boot; exits)
finally:
    p = nrf52_port._print
    p("UARTSTATS " + repr(nrf_uart.stats))
    p("NRFMODS " + ",".join(sorted(n for n in sys.modules if n.startswith("onenet_ota"))))
