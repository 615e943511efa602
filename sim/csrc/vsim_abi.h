// The C ABI between the C++ harness and the Rust crate (`sim/src/ffi.rs` mirrors it field by field).
// Every built configuration exports one entry point, `const VsimVtable* vsim_<name>_vtable(void)`.
#ifndef VSIM_ABI_H
#define VSIM_ABI_H

#include <stddef.h>
#include <stdint.h>

#define VSIM_ABI_VERSION 1u

// Counters of the DRAM model since construction.
typedef struct VsimStats {
    uint64_t read_bursts;   // AR handshakes
    uint64_t read_beats;    // R handshakes
    uint64_t write_bursts;  // AW handshakes
    uint64_t write_beats;   // W handshakes
    uint64_t read_errors;   // R beats answered SLVERR (outside the buffer)
    uint64_t write_errors;  // B responses SLVERR (some beat outside the buffer)
} VsimStats;

typedef struct VsimVtable {
    uint32_t abi_version;   // VSIM_ABI_VERSION
    uint32_t vtable_bytes;  // sizeof(VsimVtable)
    uint32_t data_bits;     // AXI4 master data width W
    uint32_t reserved;
    // A harness serving the AXI4 master from mem[0..mem_len) (owned by the caller, outlives it).
    void* (*create)(uint8_t* mem, size_t mem_len);
    void (*destroy)(void* h);
    // aresetn low for `cycles` cycles, then two cycles out of reset; empties the DRAM model.
    void (*reset)(void* h, uint32_t cycles);
    void (*step)(void* h, uint64_t cycles);
    uint64_t (*cycle)(void* h);
    // AXI4-Lite transactions: return the response (0 OKAY, 1 EXOKAY, 2 SLVERR, 3 DECERR) or -1 if
    // the slave did not complete within `timeout` cycles.
    int32_t (*axil_write)(void* h, uint32_t addr, uint32_t data, uint64_t timeout);
    int32_t (*axil_read)(void* h, uint32_t addr, uint32_t* data, uint64_t timeout);
    void (*set_read_latency)(void* h, uint32_t cycles);
    void (*set_write_latency)(void* h, uint32_t cycles);
    void (*set_backpressure)(void* h, uint64_t seed, uint32_t percent);
    // 0 on success, -1 if the file cannot be opened.
    int32_t (*trace_open)(void* h, const char* path);
    void (*trace_close)(void* h);
    void (*stats)(void* h, VsimStats* out);
    // Number of AXI protocol violations seen on the DUT's master; the first one's description is
    // copied (NUL-terminated, truncated) into buf.
    uint64_t (*violations)(void* h, char* buf, size_t buf_len);
} VsimVtable;

#endif
