# Compiling the agent with mpy-cross: one .mpy per firmware/onenet_ota/*.py.
import os

from . import firmware_sources, run, tool_name

MARCHES = ("x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
           "xtensa", "xtensawin", "rv32imc", "rv64imc", "host", "debug")


def compile_argv(src, out, march=None):
    # The mpy-cross command for one file. `-s` keeps tracebacks short and host-path free.
    argv = [tool_name("mpy-cross")]
    if march:
        argv.append("-march=" + march)
    argv += ["-s", "onenet_ota/" + os.path.basename(src), "-o", out, src]
    return argv


def plan(out_dir, march=None, sources=None):
    # [(src, out, argv)] for every firmware module, written into out_dir.
    steps = []
    for src in sources if sources is not None else firmware_sources():
        out = os.path.join(out_dir, os.path.basename(src)[:-3] + ".mpy")
        steps.append((src, out, compile_argv(src, out, march)))
    return steps


def compile_all(out_dir, march=None, sources=None, timeout=60):
    # Compile everything; returns the list of .mpy paths. Raises ToolError naming the file.
    os.makedirs(out_dir, exist_ok=True)
    outs = []
    for src, out, argv in plan(out_dir, march, sources):
        run(argv, timeout=timeout, capture=True)
        outs.append(out)
    return outs
