# The agent's core: every board loads these (state machine, the download step, the
# confirm step, OneNET calls, HTTP client, token, journal, config, board base class,
# digest front end, errors, formatting) and pipe.py, the HTTP client that pipelines
# where the board's link allows it (sockets, the BC26: agent._pipelines).
metadata(version="0.1.0", description="OneNET OTA agent: core")
package("onenet_ota", files=("__init__.py", "agent.py", "api.py", "auth.py", "board.py",
                             "confirm.py", "config.py", "digest.py", "errors.py", "fetch.py",
                             "fmt.py", "http.py", "http_head.py", "journal.py", "pipe.py", "runloop.py"),
        base_path="../../firmware")
