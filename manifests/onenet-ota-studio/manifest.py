# The OneNET Studio OTA dialect (docs/dialects.md): loaded only by a device whose config
# says "platform": "studio". Add `require("onenet-ota-studio")` to a board's manifest,
# or install it with mip, when you set it.
metadata(version="0.1.0", description="OneNET OTA agent: the Studio OTA dialect")
package("onenet_ota", files=("api_studio.py",), base_path="../../firmware")
require("onenet-ota-tid", library="onenet-ota")
