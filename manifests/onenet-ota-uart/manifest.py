# machine.UART settings and opening (a modem or a target MCU's bootloader).
metadata(version="0.1.0", description="OneNET OTA agent: UART settings")
package("onenet_ota", files=("uart.py",), base_path="../../firmware")
