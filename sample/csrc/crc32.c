/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bitwise.
 * Kept in C on purpose: the release pipeline must prove it cross-compiles C. */
#include <stddef.h>
#include <stdint.h>

uint32_t crcsum_update(uint32_t crc, const unsigned char *data, size_t len) {
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}
