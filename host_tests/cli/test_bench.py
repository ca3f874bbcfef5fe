# `onenet-ota bench --quick` runs end to end, prints its target table and writes the
# markdown. No timing assertions: the figures are the benchmark's business.
import os

from onenet_ota_tools.cli import main


def test_bench_quick_prints_table_and_writes_markdown(tmp_path, capsys):
    out = tmp_path / "PERFORMANCE.md"
    assert main(["bench", "--quick", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for row in ("agent/curl time, cpython, 4 KiB chunks", "agent/curl time, micropython, 4 KiB chunks",
                "TCP connections per update", "heapsize=24k", "peak heap above baseline",
                "heap allocated per chunk", "core package .mpy", "journal writes per MiB",
                "pure MD5", "restart → first resumed byte"):
        assert row in text, row
    from onenet_ota_tools.benchlib import qemu

    if qemu.available() is None:  # the toolchain and a MicroPython source are here
        assert "smallest heap, nRF52832 + BC26 on the qemu Cortex-M3, 1024 B chunks" in text
        assert "resident heap of the frozen nRF52832 part" in text
    md = out.read_text()
    for part in ("# Performance and footprint", "## Machine", "nproc", "micropython", "## Targets",
                 "onenet-ota bench --quick", "agent/curl", "## .mpy sizes", "## Pure MD5 / SHA-1",
                 "## Journal and resume", "What each board installs"):
        assert part in md, part
    assert os.path.getsize(out) > 1000
    if qemu.available() is None:
        assert "## The nRF52832 profile on a Cortex-M3" in md and "| agent |" in md
        assert "qemu figures" not in md  # neither skipped nor incomplete
