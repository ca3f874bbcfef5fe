# main.py: start the OneNET OTA agent with /config.json (written by `onenet-ota deploy`).
# Any failure is printed and main.py ends, so the board still reaches its REPL; Ctrl-C
# (KeyboardInterrupt) stops the agent the same way.
CONFIG = "config.json"

try:
    from onenet_ota import agent

    agent.main(CONFIG)
except Exception as e:
    import sys

    print("onenet_ota: agent stopped:", repr(e))
    sys.print_exception(e)
