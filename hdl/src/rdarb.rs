//! Shares the AXI4 read engine between its three clients: instruction fetch, the DMA unit (LOAD)
//! and the GEMM unit (weight stream). Commands are granted one at a time (fixed priority: fetch,
//! GEMM, DMA) into a one-command holding register that feeds the read engine; the granted client
//! and its beat count go into a routing FIFO, and the read data, which returns in command order,
//! is steered to the client at the FIFO's head. Clients only issue commands whose data they can
//! take at once, so one client never blocks another's data.
//!
//! The grant (`c_cmd_ready`) is a register decided a cycle ahead from the requests then pending,
//! and reaches the clients through separate Verilog statements: it never depends on this
//! cycle's requests, so no client's request logic forms a combinational loop with it. Clients
//! hold a request until it is granted. At most one command is accepted every two cycles.

use crate::array::signals;
use crate::storage::WordFifo;
use crate::widen::Concat;
use rust_hdl::prelude::*;

/// Depth of the routing FIFO (commands in flight).
pub const ROUTES: usize = 8;

/// The read arbiter.
#[derive(LogicBlock)]
pub struct ReadArbiter {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Command valid, per client (0 fetch, 1 DMA, 2 GEMM).
    pub c_cmd_valid: Vec<Signal<In, Bit>>,
    /// Command accepted, per client.
    pub c_cmd_ready: Vec<Signal<Out, Bit>>,
    /// Command byte address, per client.
    pub c_cmd_addr: Vec<Signal<In, Bits<40>>>,
    /// Command beats, per client (>= 1).
    pub c_cmd_beats: Vec<Signal<In, Bits<32>>>,
    /// A data beat for this client is on the data bus.
    pub c_data_valid: Vec<Signal<Out, Bit>>,
    /// The client takes the beat.
    pub c_data_ready: Vec<Signal<In, Bit>>,
    /// To the read engine: command valid.
    pub cmd_valid: Signal<Out, Bit>,
    /// From the read engine: command accepted.
    pub cmd_ready: Signal<In, Bit>,
    /// To the read engine: address.
    pub cmd_addr: Signal<Out, Bits<40>>,
    /// To the read engine: beats.
    pub cmd_beats: Signal<Out, Bits<32>>,
    /// From the read engine: a beat is on the data bus.
    pub data_valid: Signal<In, Bit>,
    /// To the read engine: the addressed client takes it.
    pub data_ready: Signal<Out, Bit>,
    routes: WordFifo<34>,
    entry: Concat<2, 32, 34>,
    grant: Signal<Local, Bits<2>>,
    any: Signal<Local, Bit>,
    head_client: Signal<Local, Bits<2>>,
    left: DFF<Bits<32>>,
    started: DFF<Bit>,
    ready_r: Vec<DFF<Bit>>,
    hold_valid: DFF<Bit>,
    hold_addr: DFF<Bits<40>>,
    hold_beats: DFF<Bits<32>>,
    hold_client: DFF<Bits<2>>,
    accept: Signal<Local, Bit>,
    hold_next: Signal<Local, Bit>,
    routes_used: Signal<Local, Bits<16>>,
    beat: Signal<Local, Bit>,
    full: Signal<Local, Bit>,
    routes_cap: Constant<Bits<16>>,
    c0: Constant<Bits<2>>,
    c1: Constant<Bits<2>>,
    c2: Constant<Bits<2>>,
    one32: Constant<Bits<32>>,
}

impl Default for ReadArbiter {
    fn default() -> Self {
        ReadArbiter {
            clock: Signal::default(),
            reset: Signal::default(),
            c_cmd_valid: signals(3),
            c_cmd_ready: signals(3),
            c_cmd_addr: signals(3),
            c_cmd_beats: signals(3),
            c_data_valid: signals(3),
            c_data_ready: signals(3),
            cmd_valid: Signal::default(),
            cmd_ready: Signal::default(),
            cmd_addr: Signal::default(),
            cmd_beats: Signal::default(),
            data_valid: Signal::default(),
            data_ready: Signal::default(),
            routes: WordFifo::new(ROUTES),
            entry: Concat::default(),
            grant: Signal::default(),
            any: Signal::default(),
            head_client: Signal::default(),
            left: DFF::default(),
            started: DFF::default(),
            ready_r: (0..3).map(|_| DFF::default()).collect(),
            hold_valid: DFF::default(),
            hold_addr: DFF::default(),
            hold_beats: DFF::default(),
            hold_client: DFF::default(),
            accept: Signal::default(),
            hold_next: Signal::default(),
            routes_used: Signal::default(),
            beat: Signal::default(),
            full: Signal::default(),
            routes_cap: Constant::new((ROUTES as u64).into()),
            c0: Constant::new(0u64.into()),
            c1: Constant::new(1u64.into()),
            c2: Constant::new(2u64.into()),
            one32: Constant::new(1u64.into()),
        }
    }
}

impl Logic for ReadArbiter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, left, started, hold_valid, hold_addr, hold_beats, hold_client);
        self.routes.clock.next = self.clock.val();
        self.routes.reset.next = self.reset.val();
        for k in 0..3 {
            self.ready_r[k].clock.next = self.clock.val();
            self.ready_r[k].d.next = false;
        }
        Signal::<Out, Bit>::link(&mut self.c_cmd_ready[0], &mut self.ready_r[0].q);
        Signal::<Out, Bit>::link(&mut self.c_cmd_ready[1], &mut self.ready_r[1].q);
        Signal::<Out, Bit>::link(&mut self.c_cmd_ready[2], &mut self.ready_r[2].q);

        // Take the granted client's command into the holding register.
        self.accept.next = false;
        for k in 0..3 {
            if self.ready_r[k].q.val() && self.c_cmd_valid[k].val() {
                self.accept.next = true;
                self.hold_addr.d.next = self.c_cmd_addr[k].val();
                self.hold_beats.d.next = self.c_cmd_beats[k].val();
            }
        }
        self.grant.next = self.c1.val();
        if self.ready_r[2].q.val() {
            self.grant.next = self.c2.val();
        }
        if self.ready_r[0].q.val() {
            self.grant.next = self.c0.val();
        }
        if self.accept.val() {
            self.hold_client.d.next = self.grant.val();
        }
        // The holding register drives the read engine; an accepted command records its route.
        self.cmd_valid.next = self.hold_valid.q.val();
        self.cmd_addr.next = self.hold_addr.q.val();
        self.cmd_beats.next = self.hold_beats.q.val();
        self.entry.hi.next = self.hold_client.q.val();
        self.entry.lo.next = self.hold_beats.q.val();
        self.routes.din.next = self.entry.dout.val();
        self.routes.push.next = self.hold_valid.q.val() && self.cmd_ready.val();
        self.hold_next.next = (self.hold_valid.q.val() && !self.cmd_ready.val()) || self.accept.val();
        self.hold_valid.d.next = self.hold_next.val();

        // Next cycle's grant: the highest-priority client requesting now and not just taken,
        // when the holding register and a route will be free.
        self.any.next = false;
        for k in 0..3 {
            if self.c_cmd_valid[k].val() && !(self.ready_r[k].q.val() && self.accept.val()) {
                self.any.next = true;
            }
        }
        self.routes_used.next = self.routes.count.val() + 1;
        self.full.next = self.routes_used.val() >= self.routes_cap.val();
        if !self.hold_next.val() && !self.full.val() && self.any.val() {
            if self.c_cmd_valid[0].val() && !(self.ready_r[0].q.val() && self.accept.val()) {
                self.ready_r[0].d.next = true;
            } else if self.c_cmd_valid[2].val() && !(self.ready_r[2].q.val() && self.accept.val()) {
                self.ready_r[2].d.next = true;
            } else {
                self.ready_r[1].d.next = true;
            }
        }
        // Steer data to the head route's client; count its beats down.
        self.head_client.next = self.routes.dout.val().get_bits::<2>(32);
        self.data_ready.next = false;
        for k in 0..3 {
            self.c_data_valid[k].next = false;
            if (self.head_client.val().index() == k) && (self.routes.count.val() != 0) {
                self.c_data_valid[k].next = self.data_valid.val();
                self.data_ready.next = self.c_data_ready[k].val();
            }
        }
        self.beat.next = self.data_valid.val() && self.data_ready.val() && (self.routes.count.val() != 0);
        self.routes.pop.next = false;
        if self.beat.val() {
            if !self.started.q.val() {
                // First beat of the head route.
                self.left.d.next = self.routes.dout.val().get_bits::<32>(0) - self.one32.val();
                self.started.d.next = true;
                if self.routes.dout.val().get_bits::<32>(0) == self.one32.val() {
                    self.routes.pop.next = true;
                    self.started.d.next = false;
                }
            } else {
                self.left.d.next = self.left.q.val() - self.one32.val();
                if self.left.q.val() == self.one32.val() {
                    self.routes.pop.next = true;
                    self.started.d.next = false;
                }
            }
        }
        if self.reset.val() {
            self.started.d.next = false;
            self.hold_valid.d.next = false;
            for k in 0..3 {
                self.ready_r[k].d.next = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arbiter_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut ReadArbiter::default(), "rdarb");
        crate::verilog::lint(&v, "rdarb").unwrap();
    }
}
