"""The qemu runtime: the agent frozen into a Cortex-M3 MicroPython (fwbuild/build.py)
under qemu-system-arm -M mps2-an385; see run.py and docs/qemu.md. The folder board/
holds the board module frozen into that build only (qemu_device) and the C modules (cmod: nrf, qemu_machine)."""
