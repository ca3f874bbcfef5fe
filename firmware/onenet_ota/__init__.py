# onenet_ota: over-the-air update agent for OneNET, for MicroPython boards.
# Modules are imported on demand (see agent.py); importing the package costs nothing.
__version__ = "0.1.0"
