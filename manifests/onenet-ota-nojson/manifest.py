# A small JSON reader for ports without json.
metadata(version="0.1.0", description="OneNET OTA agent: JSON without json")
package("onenet_ota", files=("jsonlite.py",), base_path="../../firmware")
