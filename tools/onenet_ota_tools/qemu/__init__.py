"""The qemu runtime: the agent frozen into a Cortex-M3 MicroPython (fwbuild/build.py)
under qemu-system-arm -M mps2-an385; see run.py and docs/qemu.md. The folder board/
holds the board modules frozen into that build only (nrf, qemu_machine, qemu_device)."""
