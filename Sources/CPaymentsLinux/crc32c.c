#include "CPaymentsLinux.h"
#include <string.h>

#if defined(__x86_64__)
int cpl_crc32c_hardware_available(void) { return __builtin_cpu_supports("sse4.2") ? 1 : 0; }

__attribute__((target("sse4.2")))
uint32_t cpl_crc32c_hardware(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t c = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p);
        p++;
        count--;
    }
    return c32;
}
#else
int cpl_crc32c_hardware_available(void) { return 0; }
uint32_t cpl_crc32c_hardware(uint32_t crc, const void *bytes, size_t count) { (void)bytes; (void)count; return crc; }
#endif
