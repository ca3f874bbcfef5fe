# MQTT task notification (docs/mqtt.md): loaded only by a device whose config has
# "mqtt" (boards that keep a connection: ESP32). Needs micropython-lib's umqtt.simple,
# required here, never copied: mip installs it as a dependency (mqtt.json, package.json
# "deps"), a frozen build takes it from the port's micropython-lib.
metadata(version="0.1.0", description="OneNET OTA agent: MQTT task notification")
require("umqtt.simple")
package("onenet_ota", files=("notify.py", "notify_cfg.py"), base_path="../../firmware")
