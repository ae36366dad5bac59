/* Test-only stand-in for bcryptprimitives.dll, for wine versions that lack it.
 *
 * Rust's std on Windows draws random bytes from ProcessPrng, exported by
 * bcryptprimitives.dll since Windows 10. Wine 8 does not ship that DLL, so a
 * Rust program dies at start-up there. This shim forwards to RtlGenRandom
 * (advapi32's SystemFunction036), which wine does implement. It is placed
 * next to the executable in a throwaway sandbox and never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
