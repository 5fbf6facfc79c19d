/* A stand-in for Windows' bcryptprimitives.dll, for running the project's Windows builds under
 * Wine 8 only (real Windows 10 and later has the DLL; Wine 8 does not). Rust's standard library
 * takes its random bytes from ProcessPrng; this one asks the system's generator that Wine has
 * (RtlGenRandom, exported by advapi32 as SystemFunction036). Never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
