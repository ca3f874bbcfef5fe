# A raw-REPL stand-in for a board: the unix `micropython` runs server.py behind a
# pseudo-terminal, and mpremote connects to the pty's slave path as to a serial port.
import os
import subprocess
import time
import tty

from onenet_ota_tools.runtimes import micropython_binary

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.py")


class StandIn:
    # with StandIn(root) as dev: dev.port is the path to give `mpremote connect`.
    def __init__(self, root, heap="8m"):
        self.root = os.path.abspath(root)
        self.heap = heap
        self.proc = None
        self.slave = None

    def __enter__(self):
        master, slave = os.openpty()
        tty.setraw(slave)
        env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
        self.errlog = open(os.path.join(os.path.dirname(self.root), "standin.stderr"), "wb")
        try:
            self.proc = subprocess.Popen(
                [micropython_binary(), "-X", "heapsize=" + self.heap, SERVER, self.root],
                stdin=master, stdout=master, stderr=self.errlog, cwd=self.root, env=env,
                start_new_session=True,
            )
        finally:
            os.close(master)  # the child holds it now
        # Keep one slave fd open: between mpremote runs the master must not see a hangup.
        self.slave = slave
        self.port = os.ttyname(slave)
        time.sleep(0.2)
        if self.proc.poll() is not None:
            raise RuntimeError("stand-in exited: %s" % self.stderr())
        return self

    def stderr(self):
        self.errlog.flush()
        with open(self.errlog.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.slave is not None:
            os.close(self.slave)
            self.slave = None
        self.errlog.close()

    def __exit__(self, *exc):
        self.close()
