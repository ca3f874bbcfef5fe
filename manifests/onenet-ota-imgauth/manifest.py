# The package MAC check (docs/security.md): loaded only by a device whose config has an
# image_key. Add `require("onenet-ota-imgauth")` to a board's manifest, or install it
# with mip, when you set one.
metadata(version="0.1.0", description="OneNET OTA agent: package authenticity (image_key)")
package("onenet_ota", files=("imgauth.py",), base_path="../../firmware")
