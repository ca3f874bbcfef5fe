# The 32-bit unix build for the ESP32 profile: the ESP32 part, plus the pure MD5/SHA-1
# because this build has no hashlib.md5/sha1 (on unix they come with mbedtls or axtls,
# which the vendored source leaves out; a real ESP32 has both).
add_library("onenet-ota", "../../../../manifests")
require("onenet-ota-esp32", library="onenet-ota")
require("onenet-ota-nohashlib", library="onenet-ota")
