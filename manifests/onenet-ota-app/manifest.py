# The app sink, for any board profile: application bundles unpacked into app folders,
# the app loader, rollback (docs/app-bundles.md). Its resume uses the file sink's
# truncate helper.
metadata(version="0.1.0", description="OneNET OTA agent: application updates (app sink and loader)")
add_library("onenet-ota", "..")
require("onenet-ota-file", library="onenet-ota")
package("onenet_ota", files=("sink_app.py", "oab1.py", "app_board.py", "apprun.py"), base_path="../../firmware")
