# main.py: start the OneNET OTA agent with /config.json (written by `onenet-ota deploy`).
# Any failure is printed and main.py ends, so the board still reaches its REPL; Ctrl-C
# (KeyboardInterrupt) stops the agent the same way.
CONFIG = "config.json"

# Application updates (docs/app-bundles.md): when the app sink installed an app, the
# loader counts this boot (and goes back to the previous app if a new one never
# confirmed), one agent cycle confirms it or fetches the next, then the app runs.
app = None
try:
    from onenet_ota import apprun

    app = apprun.boot()
except Exception:  # no onenet-ota-app part installed: the agent alone, as before
    pass

try:
    from onenet_ota import runloop

    if app:
        runloop.main(CONFIG, loop=False)
    else:
        runloop.main(CONFIG)
except Exception as e:
    import sys

    print("onenet_ota: agent stopped:", repr(e))
    sys.print_exception(e)

if app:
    apprun.start(app)
