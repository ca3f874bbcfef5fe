# What the fuse-ota and Studio dialects share (the task-id path shape, Ota-Errno,
# Content-Range-Start/End, the token forms): required by onenet-ota-fuse and -studio.
metadata(version="0.1.0", description="OneNET OTA agent: the task-id dialects' common part")
package("onenet_ota", files=("api_tid.py",), base_path="../../firmware")
