// The simulation harness around one Verilated `vitaccel_top`: clock and reset, a DRAM model serving
// the AXI4 master from a caller-owned byte buffer, an AXI4-Lite master, and VCD tracing.
//
// `sim/build.rs` generates one translation unit per configuration:
//
//     #include "Vsmall.h"
//     #include "harness.h"
//     VSIM_DEFINE_MODEL(Vsmall, 64, vsim_small_vtable)
//
// Everything below lives in an anonymous namespace, so several configurations link into one
// binary; the only external symbol per configuration is its vtable entry point (vsim_abi.h).
//
// One cycle (`Harness::tick`): drive every model-owned DUT input from model state, eval with aclk
// low (combinational outputs settle), sample the DUT outputs and advance the models on the
// handshakes seen (this is the rising edge for the models), then aclk high + eval (the rising edge
// for the DUT, with the same inputs). So a handshake counts exactly when the RTL registers it.
#ifndef VSIM_HARNESS_H
#define VSIM_HARNESS_H

#include "vitaccel_timing.h"  // generated from spec::timing by sim/build.rs
#include "vsim_abi.h"

#include <verilated.h>
#include <verilated_vcd_c.h>

#include <array>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <type_traits>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the harness moves bus words with memcpy: little-endian hosts only"
#endif

namespace {

// ---- Verilator port types: CData/SData/IData/QData (<= 64 bits) and VlWide<N> (> 64 bits) ----

template <typename T>
inline typename std::enable_if<std::is_integral<T>::value>::type port_set_bytes(T& port, const uint8_t* src,
                                                                                 size_t n) {
    uint64_t v = 0;
    std::memcpy(&v, src, n);
    port = static_cast<T>(v);
}
template <std::size_t N>
inline void port_set_bytes(VlWide<N>& port, const uint8_t* src, size_t n) {
    std::memcpy(port.data(), src, n);
}
template <typename T>
inline typename std::enable_if<std::is_integral<T>::value>::type port_get_bytes(const T& port, uint8_t* dst,
                                                                                 size_t n) {
    uint64_t v = static_cast<uint64_t>(port);
    std::memcpy(dst, &v, n);
}
template <std::size_t N>
inline void port_get_bytes(const VlWide<N>& port, uint8_t* dst, size_t n) {
    std::memcpy(dst, port.data(), n);
}
template <typename T>
inline typename std::enable_if<std::is_integral<T>::value>::type port_clear(T& port) {
    port = 0;
}
template <std::size_t N>
inline void port_clear(VlWide<N>& port) {
    std::memset(port.data(), 0, sizeof(EData) * N);
}

// xorshift64*: deterministic, seedable, fast.
struct Rng {
    uint64_t s = 0x9e3779b97f4a7c15ull;
    void seed(uint64_t v) { s = v ? v : 0x9e3779b97f4a7c15ull; }
    uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545f4914f6cdd1dull;
    }
};

constexpr uint8_t RESP_OKAY = 0;
constexpr uint8_t RESP_SLVERR = 2;

template <class Model, unsigned BITS>
class Harness {
    static_assert(BITS >= 32 && BITS <= 1024 && (BITS & (BITS - 1)) == 0, "AXI data width");
    static constexpr unsigned WB = BITS / 8;  // bytes per beat
    static constexpr unsigned SIZE_LOG2 = __builtin_ctz(WB);

    struct RBurst {
        uint64_t addr;
        uint32_t beats;
        uint32_t next;
        uint64_t ready_at;  // first cycle its beats may be presented
    };
    struct AwBurst {
        uint64_t addr;
        uint32_t beats;
        uint32_t next;
        bool err;
    };
    struct WBeat {
        std::array<uint8_t, WB> data;
        std::array<uint8_t, WB> strb;  // one byte per strobe bit
        bool last;
    };
    struct BResp {
        uint8_t resp;
        uint64_t ready_at;
    };

  public:
    Harness(uint8_t* mem, size_t mem_len) : mem_(mem), mem_len_(mem_len) {
        ctx_.reset(new VerilatedContext);
        ctx_->traceEverOn(true);
        top_.reset(new Model(ctx_.get(), "top"));
        top_->aclk = 0;
        top_->aresetn = 0;
        top_->eval();
    }
    ~Harness() {
        trace_close();
        top_->final();
    }

    // ---------------------------------------------------------------- clocking
    void tick() {
        drive();
        top_->aclk = 0;
        top_->eval();
        if (vcd_) vcd_->dump(10 * cycle_);
        advance();
        top_->aclk = 1;
        top_->eval();
        if (vcd_) vcd_->dump(10 * cycle_ + 5);
        ++cycle_;
    }
    void step(uint64_t n) {
        for (uint64_t i = 0; i < n; ++i) tick();
    }
    void reset(uint32_t cycles) {
        in_reset_ = true;
        rq_.clear();
        awq_.clear();
        wq_.clear();
        bq_.clear();
        r_hold_ = b_hold_ = false;
        ar_wait_ = aw_wait_ = w_wait_ = false;
        l_aw_ = l_w_ = l_b_ = l_ar_ = l_r_ = false;
        top_->aresetn = 0;
        step(cycles < 1 ? 1 : cycles);
        top_->aresetn = 1;
        in_reset_ = false;
        step(2);  // the top registers aresetn: one more cycle until the core leaves reset
    }
    uint64_t cycle() const { return cycle_; }

    // ---------------------------------------------------------------- AXI4-Lite master
    int32_t axil_write(uint32_t addr, uint32_t data, uint64_t timeout) {
        l_addr_ = addr;
        l_data_ = data;
        l_aw_ = l_w_ = l_b_ = true;
        for (uint64_t n = 0; l_aw_ || l_w_ || l_b_; ++n) {
            if (n >= timeout) {
                l_aw_ = l_w_ = l_b_ = false;
                return -1;
            }
            tick();
        }
        return l_resp_;
    }
    int32_t axil_read(uint32_t addr, uint32_t* data, uint64_t timeout) {
        l_addr_ = addr;
        l_ar_ = l_r_ = true;
        for (uint64_t n = 0; l_ar_ || l_r_; ++n) {
            if (n >= timeout) {
                l_ar_ = l_r_ = false;
                return -1;
            }
            tick();
        }
        *data = l_rdata_;
        return l_resp_;
    }

    // ---------------------------------------------------------------- knobs, tracing, reports
    void set_read_latency(uint32_t c) { read_latency_ = c; }
    void set_write_latency(uint32_t c) { write_latency_ = c; }
    void set_backpressure(uint64_t seed, uint32_t percent) {
        rng_.seed(seed);
        bp_percent_ = percent > 100 ? 100 : percent;
    }
    int32_t trace_open(const char* path) {
        trace_close();
        vcd_.reset(new VerilatedVcdC);
        top_->trace(vcd_.get(), 99);
        vcd_->open(path);
        if (!vcd_->isOpen()) {
            vcd_.reset();
            return -1;
        }
        return 0;
    }
    void trace_close() {
        if (vcd_) {
            vcd_->close();
            vcd_.reset();
        }
    }
    void stats(VsimStats* out) const { *out = stats_; }
    uint64_t violations(char* buf, size_t len) const {
        if (len) {
            std::snprintf(buf, len, "%s", first_violation_.c_str());
        }
        return violations_;
    }

  private:
    bool stall() { return bp_percent_ && rng_.next() % 100 < bp_percent_; }

    bool in_mem(uint64_t addr, uint64_t bytes) const { return addr <= mem_len_ && mem_len_ - addr >= bytes; }

    __attribute__((format(printf, 2, 3))) void violation(const char* fmt, ...) {
        if (violations_++ != 0) return;
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        first_violation_ = "cycle " + std::to_string(cycle_) + ": " + msg;
    }

    void check_burst(const char* ch, uint64_t addr, uint32_t beats, uint32_t size, uint32_t burst) {
        const auto a = static_cast<unsigned long long>(addr);
        if (burst != 1) violation("%s at %#llx: burst type %u, not INCR", ch, a, burst);
        if (size != SIZE_LOG2) violation("%s at %#llx: size %u, expected %u", ch, a, size, SIZE_LOG2);
        if (addr % WB) violation("%s at %#llx: address not aligned to the %u-byte beat", ch, a, WB);
        if ((addr & 0xfff) + uint64_t(beats) * WB > 4096)
            violation("%s at %#llx: burst of %u beats crosses a 4 KiB boundary", ch, a, beats);
    }

    // Inputs of the DUT for this cycle, from model state (and this cycle's back-pressure draws).
    void drive() {
        Model& t = *top_;
        const bool s_ar = stall(), s_r = stall(), s_aw = stall(), s_w = stall(), s_b = stall();
        if (in_reset_) {
            t.m_axi_arready = 0;
            t.m_axi_rvalid = 0;
            t.m_axi_rlast = 0;
            t.m_axi_awready = 0;
            t.m_axi_wready = 0;
            t.m_axi_bvalid = 0;
        } else {
            // Read: several bursts outstanding, beats in order, one per cycle after the latency.
            t.m_axi_arready = rq_.size() < MAX_READS && !s_ar;
            bool rv = false;
            if (!rq_.empty()) {
                const RBurst& b = rq_.front();
                rv = r_hold_ || (b.ready_at <= cycle_ && !s_r);
                if (rv) {
                    const uint64_t a = b.addr + uint64_t(b.next) * WB;
                    if (in_mem(a, WB)) {
                        port_set_bytes(t.m_axi_rdata, mem_ + a, WB);
                        t.m_axi_rresp = RESP_OKAY;
                    } else {
                        port_clear(t.m_axi_rdata);
                        t.m_axi_rresp = RESP_SLVERR;
                    }
                    t.m_axi_rlast = b.next + 1 == b.beats;
                }
            }
            t.m_axi_rvalid = rv;
            if (!rv) t.m_axi_rlast = 0;
            // Write: AW and W accepted independently (W may run ahead of AW), B after the last beat.
            t.m_axi_awready = awq_.size() < MAX_WRITES && !s_aw;
            t.m_axi_wready = wq_.size() < MAX_W_BEATS && !s_w;
            const bool bv = !bq_.empty() && (b_hold_ || (bq_.front().ready_at <= cycle_ && !s_b));
            t.m_axi_bvalid = bv;
            t.m_axi_bresp = bv ? bq_.front().resp : 0;
        }
        // AXI4-Lite master.
        t.s_axi_awvalid = l_aw_;
        t.s_axi_awaddr = l_addr_;
        t.s_axi_wvalid = l_w_;
        t.s_axi_wdata = l_data_;
        t.s_axi_wstrb = 0xf;
        t.s_axi_bready = l_b_;
        t.s_axi_arvalid = l_ar_;
        t.s_axi_araddr = l_addr_;
        t.s_axi_rready = l_r_;
    }

    // The models' rising edge: act on the handshakes of this cycle.
    void advance() {
        Model& t = *top_;
        // Responses first: they can only answer addresses/data accepted in earlier cycles.
        if (l_b_ && !l_aw_ && !l_w_ && t.s_axi_bvalid) {
            l_b_ = false;
            l_resp_ = t.s_axi_bresp;
        }
        if (l_r_ && !l_ar_ && t.s_axi_rvalid) {
            l_r_ = false;
            l_rdata_ = t.s_axi_rdata;
            l_resp_ = t.s_axi_rresp;
        }
        if (l_aw_ && t.s_axi_awready) l_aw_ = false;
        if (l_w_ && t.s_axi_wready) l_w_ = false;
        if (l_ar_ && t.s_axi_arready) l_ar_ = false;
        if (in_reset_) return;

        // AR (a valid address must hold, unchanged, until accepted).
        const bool arv = t.m_axi_arvalid;
        if (ar_wait_ && (!arv || t.m_axi_araddr != ar_addr_ || t.m_axi_arlen != ar_len_))
            violation("AR at %#llx: valid dropped or address/length changed before ARREADY",
                      static_cast<unsigned long long>(ar_addr_));
        if (arv && t.m_axi_arready) {
            const uint64_t addr = t.m_axi_araddr;
            const uint32_t beats = uint32_t(t.m_axi_arlen) + 1;
            check_burst("AR", addr, beats, t.m_axi_arsize, t.m_axi_arburst);
            rq_.push_back(RBurst{addr, beats, 0, cycle_ + (read_latency_ ? read_latency_ : 1)});
            ++stats_.read_bursts;
        }
        ar_wait_ = arv && !t.m_axi_arready;
        ar_addr_ = t.m_axi_araddr;
        ar_len_ = t.m_axi_arlen;

        // R.
        if (t.m_axi_rvalid && t.m_axi_rready) {
            RBurst& b = rq_.front();
            if (t.m_axi_rresp != RESP_OKAY) ++stats_.read_errors;
            ++stats_.read_beats;
            if (++b.next == b.beats) rq_.pop_front();
            r_hold_ = false;
        } else {
            r_hold_ = t.m_axi_rvalid;
        }

        // AW.
        const bool awv = t.m_axi_awvalid;
        if (aw_wait_ && (!awv || t.m_axi_awaddr != aw_addr_ || t.m_axi_awlen != aw_len_))
            violation("AW at %#llx: valid dropped or address/length changed before AWREADY",
                      static_cast<unsigned long long>(aw_addr_));
        if (awv && t.m_axi_awready) {
            const uint64_t addr = t.m_axi_awaddr;
            const uint32_t beats = uint32_t(t.m_axi_awlen) + 1;
            check_burst("AW", addr, beats, t.m_axi_awsize, t.m_axi_awburst);
            awq_.push_back(AwBurst{addr, beats, 0, false});
            ++stats_.write_bursts;
        }
        aw_wait_ = awv && !t.m_axi_awready;
        aw_addr_ = t.m_axi_awaddr;
        aw_len_ = t.m_axi_awlen;

        // W.
        const bool wv = t.m_axi_wvalid;
        if (wv) {
            WBeat w;
            port_get_bytes(t.m_axi_wdata, w.data.data(), WB);
            for (unsigned i = 0; i < WB; ++i) w.strb[i] = strobe_bit(t.m_axi_wstrb, i);
            w.last = t.m_axi_wlast;
            if (w_wait_ && (w.data != w_pending_.data || w.strb != w_pending_.strb || w.last != w_pending_.last))
                violation("W: data, strobes or last changed before WREADY (write beat %llu)",
                          static_cast<unsigned long long>(stats_.write_beats));
            if (t.m_axi_wready) {
                wq_.push_back(w);
                ++stats_.write_beats;
                w_wait_ = false;
            } else {
                w_pending_ = w;
                w_wait_ = true;
            }
        } else {
            if (w_wait_)
                violation("W: valid dropped before WREADY (write beat %llu)",
                          static_cast<unsigned long long>(stats_.write_beats));
            w_wait_ = false;
        }
        drain_writes();

        // B.
        if (t.m_axi_bvalid && t.m_axi_bready) {
            bq_.pop_front();
            b_hold_ = false;
        } else {
            b_hold_ = t.m_axi_bvalid;
        }
    }

    template <typename T>
    static typename std::enable_if<std::is_integral<T>::value, uint8_t>::type strobe_bit(const T& v, unsigned i) {
        return (static_cast<uint64_t>(v) >> i) & 1;
    }
    template <std::size_t N>
    static uint8_t strobe_bit(const VlWide<N>& v, unsigned i) {
        return (v.data()[i / 32] >> (i % 32)) & 1;
    }

    // Apply buffered W beats to the bursts whose address has arrived; queue B after a burst's last beat.
    void drain_writes() {
        while (!awq_.empty() && !wq_.empty()) {
            AwBurst& a = awq_.front();
            const WBeat& w = wq_.front();
            const uint64_t addr = a.addr + uint64_t(a.next) * WB;
            const bool last = a.next + 1 == a.beats;
            if (w.last != last)
                violation("AW at %#llx: WLAST=%d on beat %u of %u", static_cast<unsigned long long>(a.addr),
                          int(w.last), a.next + 1, a.beats);
            if (in_mem(addr, WB)) {
                for (unsigned i = 0; i < WB; ++i)
                    if (w.strb[i]) mem_[addr + i] = w.data[i];
            } else {
                a.err = true;
            }
            wq_.pop_front();
            if (++a.next == a.beats) {
                if (a.err) ++stats_.write_errors;
                bq_.push_back(BResp{a.err ? RESP_SLVERR : RESP_OKAY, cycle_ + (write_latency_ ? write_latency_ : 1)});
                awq_.pop_front();
            }
        }
    }

    static constexpr size_t MAX_READS = vitaccel_timing::DRAM_MAX_READ_BURSTS;
    static constexpr size_t MAX_WRITES = vitaccel_timing::DRAM_MAX_WRITE_BURSTS;
    static constexpr size_t MAX_W_BEATS = vitaccel_timing::DRAM_MAX_W_BEATS_AHEAD;

    std::unique_ptr<VerilatedContext> ctx_;
    std::unique_ptr<Model> top_;
    std::unique_ptr<VerilatedVcdC> vcd_;
    uint8_t* mem_;
    size_t mem_len_;
    uint64_t cycle_ = 0;
    bool in_reset_ = false;

    uint32_t read_latency_ = vitaccel_timing::DRAM_READ_LATENCY;
    uint32_t write_latency_ = vitaccel_timing::DRAM_WRITE_LATENCY;
    uint32_t bp_percent_ = 0;
    Rng rng_;

    std::deque<RBurst> rq_;
    bool r_hold_ = false;
    std::deque<AwBurst> awq_;
    std::deque<WBeat> wq_;
    std::deque<BResp> bq_;
    bool b_hold_ = false;

    bool ar_wait_ = false, aw_wait_ = false, w_wait_ = false;
    uint64_t ar_addr_ = 0, aw_addr_ = 0;
    uint32_t ar_len_ = 0, aw_len_ = 0;
    WBeat w_pending_{};

    bool l_aw_ = false, l_w_ = false, l_b_ = false, l_ar_ = false, l_r_ = false;
    uint32_t l_addr_ = 0, l_data_ = 0, l_rdata_ = 0;
    int32_t l_resp_ = 0;

    VsimStats stats_{};
    uint64_t violations_ = 0;
    std::string first_violation_;
};

template <class Model, unsigned BITS>
const VsimVtable* vsim_vtable() {
    using H = Harness<Model, BITS>;
    static const VsimVtable vt = {
        VSIM_ABI_VERSION,
        sizeof(VsimVtable),
        BITS,
        0,
        [](uint8_t* mem, size_t len) -> void* { return new H(mem, len); },
        [](void* h) { delete static_cast<H*>(h); },
        [](void* h, uint32_t c) { static_cast<H*>(h)->reset(c); },
        [](void* h, uint64_t c) { static_cast<H*>(h)->step(c); },
        [](void* h) { return static_cast<H*>(h)->cycle(); },
        [](void* h, uint32_t a, uint32_t d, uint64_t t) { return static_cast<H*>(h)->axil_write(a, d, t); },
        [](void* h, uint32_t a, uint32_t* d, uint64_t t) { return static_cast<H*>(h)->axil_read(a, d, t); },
        [](void* h, uint32_t c) { static_cast<H*>(h)->set_read_latency(c); },
        [](void* h, uint32_t c) { static_cast<H*>(h)->set_write_latency(c); },
        [](void* h, uint64_t s, uint32_t p) { static_cast<H*>(h)->set_backpressure(s, p); },
        [](void* h, const char* p) { return static_cast<H*>(h)->trace_open(p); },
        [](void* h) { static_cast<H*>(h)->trace_close(); },
        [](void* h, VsimStats* s) { static_cast<H*>(h)->stats(s); },
        [](void* h, char* b, size_t n) { return static_cast<H*>(h)->violations(b, n); },
    };
    return &vt;
}

}  // namespace

// The C entry point of one configuration: `extern "C" const VsimVtable* ENTRY(void)`.
#define VSIM_DEFINE_MODEL(MODEL, BITS, ENTRY) \
    extern "C" const VsimVtable* ENTRY(void) { return vsim_vtable<MODEL, BITS>(); }

#endif  // VSIM_HARNESS_H
