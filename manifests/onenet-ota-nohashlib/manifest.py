# Pure MD5 and SHA-1 for ports without hashlib (nRF52832's minimal build).
metadata(version="0.1.0", description="OneNET OTA agent: MD5/SHA-1 without hashlib")
package("onenet_ota", files=("blockhash.py", "md5.py", "sha1.py"), base_path="../../firmware")
