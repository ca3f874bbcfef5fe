# One boot of a simulated nRF52832 (`onenet-ota device --board nrf52832`): the modules
# its MicroPython build lacks are made unavailable first (nomods.py), then
# ota_device.py runs as for any board. machine (the UART stand-in keeps its own socket)
# is loaded before the hook; the firmware can reach none of the hidden modules.
import machine  # noqa: F401
import nomods

nomods.install(nomods.NRF52832)
import ota_device  # noqa: E402,F401  (runs the boot; exits)
