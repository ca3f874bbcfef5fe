# boot.py: runs on every reset, including the soft reset of each mpremote connection
# (raw REPL), so it stays tiny and never blocks. The agent starts from main.py.
import sys

if "/lib" not in sys.path:
    sys.path.append("/lib")
