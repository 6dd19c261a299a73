// CRC-32C (Castagnoli, iSCSI's polynomial): the check on each block of a
// chunk, cheap enough to verify every block a ranged read returns. SHA-256
// stays each chunk's identity; this is for finding damage, not forgery.
//
// Uses the CPU's crc32 instruction (SSE4.2) when it has one, a table
// otherwise; both give the same values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dfs {

// The CRC of `data` continued from `crc`, the CRC of what came before it
// (0 for none): crc32c_extend(crc32c(a), b) == crc32c(a + b).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);
inline uint32_t crc32c(const void* data, size_t size) { return crc32c_extend(0, data, size); }

// The table-driven form, whatever the CPU (for tests that compare the two).
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t size);
// Whether crc32c_extend uses the crc32 instruction.
bool crc32c_uses_hardware();

}  // namespace dfs
