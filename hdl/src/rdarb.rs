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

use crate::bus::{ReadClient, ReadServer};
use crate::storage::WordFifo;
use crate::widen::Concat;
use rust_hdl::prelude::*;

/// Depth of the routing FIFO (commands in flight).
pub const ROUTES: usize = 8;

/// The read arbiter for `W`-bit words (the words pass through to every client).
#[derive(LogicBlock)]
pub struct ReadArbiter<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// The clients (0 fetch, 1 DMA, 2 GEMM).
    pub clients: Vec<ReadServer<W>>,
    /// To the read engine; its data goes on to the client it belongs to.
    pub engine: ReadClient<W>,
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

impl<const W: usize> Default for ReadArbiter<W> {
    fn default() -> Self {
        ReadArbiter {
            clock: Signal::default(),
            reset: Signal::default(),
            clients: (0..3).map(|_| ReadServer::default()).collect(),
            engine: ReadClient::default(),
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

impl<const W: usize> Logic for ReadArbiter<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, left, started, hold_valid, hold_addr, hold_beats, hold_client);
        self.routes.clock.next = self.clock.val();
        self.routes.reset.next = self.reset.val();
        for k in 0..3 {
            self.ready_r[k].clock.next = self.clock.val();
            self.ready_r[k].d.next = false;
        }
        Signal::<Out, Bit>::link(&mut self.clients[0].cmd_ready, &mut self.ready_r[0].q);
        Signal::<Out, Bit>::link(&mut self.clients[1].cmd_ready, &mut self.ready_r[1].q);
        Signal::<Out, Bit>::link(&mut self.clients[2].cmd_ready, &mut self.ready_r[2].q);

        // Take the granted client's command into the holding register.
        self.accept.next = false;
        for k in 0..3 {
            if self.ready_r[k].q.val() && self.clients[k].cmd_valid.val() {
                self.accept.next = true;
                self.hold_addr.d.next = self.clients[k].cmd_addr.val();
                self.hold_beats.d.next = self.clients[k].cmd_beats.val();
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
        self.engine.cmd_valid.next = self.hold_valid.q.val();
        self.engine.cmd_addr.next = self.hold_addr.q.val();
        self.engine.cmd_beats.next = self.hold_beats.q.val();
        self.entry.hi.next = self.hold_client.q.val();
        self.entry.lo.next = self.hold_beats.q.val();
        self.routes.din.next = self.entry.dout.val();
        self.routes.push.next = self.hold_valid.q.val() && self.engine.cmd_ready.val();
        self.hold_next.next = (self.hold_valid.q.val() && !self.engine.cmd_ready.val()) || self.accept.val();
        self.hold_valid.d.next = self.hold_next.val();

        // Next cycle's grant: the highest-priority client requesting now and not just taken,
        // when the holding register and a route will be free.
        self.any.next = false;
        for k in 0..3 {
            if self.clients[k].cmd_valid.val() && !(self.ready_r[k].q.val() && self.accept.val()) {
                self.any.next = true;
            }
        }
        self.routes_used.next = self.routes.count.val() + 1;
        self.full.next = self.routes_used.val() >= self.routes_cap.val();
        if !self.hold_next.val() && !self.full.val() && self.any.val() {
            if self.clients[0].cmd_valid.val() && !(self.ready_r[0].q.val() && self.accept.val()) {
                self.ready_r[0].d.next = true;
            } else if self.clients[2].cmd_valid.val() && !(self.ready_r[2].q.val() && self.accept.val()) {
                self.ready_r[2].d.next = true;
            } else {
                self.ready_r[1].d.next = true;
            }
        }
        // Steer data to the head route's client; count its beats down.
        self.head_client.next = self.routes.dout.val().get_bits::<2>(32);
        self.engine.data_ready.next = false;
        for k in 0..3 {
            self.clients[k].data.next = self.engine.data.val();
            self.clients[k].data_valid.next = false;
            if (self.head_client.val().index() == k) && (self.routes.count.val() != 0) {
                self.clients[k].data_valid.next = self.engine.data_valid.val();
                self.engine.data_ready.next = self.clients[k].data_ready.val();
            }
        }
        self.beat.next = self.engine.data_valid.val() && self.engine.data_ready.val() && (self.routes.count.val() != 0);
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
        let v = crate::verilog::generate(&mut ReadArbiter::<64>::default(), "rdarb");
        crate::verilog::lint(&v, "rdarb").unwrap();
    }
}
