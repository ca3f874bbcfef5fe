# The file sink: the package kept as a file.
metadata(version="0.1.0", description="OneNET OTA agent: file sink")
package("onenet_ota", files=("sink_file.py",), base_path="../../firmware")
