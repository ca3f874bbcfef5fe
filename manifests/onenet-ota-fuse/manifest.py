# The fuse-ota dialect (the current OneNET platform, docs/dialects.md): loaded only by a
# device whose config says "platform": "fuse". Add `require("onenet-ota-fuse")` to a
# board's manifest, or install it with mip, when you set it.
metadata(version="0.1.0", description="OneNET OTA agent: the fuse-ota dialect")
package("onenet_ota", files=("api_fuse.py",), base_path="../../firmware")
require("onenet-ota-tid", library="onenet-ota")
