use super::*;
use proptest::prelude::*;

fn groups() -> Vec<Vec<Field>> {
    let common = [OPCODE, DEP_DMA, DEP_GEMM, DEP_VEC, LIVE_SIZES, RESERVED];
    let by_prefix =
        |p: &str| -> Vec<Field> { FIELDS.iter().copied().filter(|f| f.name.starts_with(p)).chain(common).collect() };
    vec![by_prefix("DMA_"), by_prefix("GEMM_"), by_prefix("VEC_")]
}

#[test]
fn fields_do_not_overlap_within_an_opcode() {
    for g in groups() {
        let mut used = [false; INSN_BITS];
        for f in &g {
            for b in f.lsb..f.lsb + f.width {
                assert!(!used[b as usize], "{} overlaps at bit {b}", f.name);
                used[b as usize] = true;
            }
        }
    }
    assert!(FIELDS.iter().all(|f| (f.lsb + f.width) as usize <= INSN_BITS));
}

#[test]
fn every_instruction_bit_belongs_to_a_field() {
    let mut used = [false; INSN_BITS];
    for f in FIELDS {
        for b in f.lsb..f.lsb + f.width {
            used[b as usize] = true;
        }
    }
    let free: Vec<usize> = (0..INSN_BITS).filter(|&b| !used[b]).collect();
    assert!(free.is_empty(), "unassigned bits {free:?} would be silently ignored by the decoder");
}

fn bank_addr() -> impl Strategy<Value = BankAddr> {
    (0u8..16, 0u32..(1 << 20)).prop_map(|(bank, addr)| BankAddr { bank, addr })
}

fn deps() -> impl Strategy<Value = Deps> {
    (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(dma, gemm, vec)| Deps { dma, gemm, vec })
}

fn stride() -> impl Strategy<Value = u32> {
    0u32..(1 << 20)
}

fn source() -> impl Strategy<Value = WeightSource> {
    prop_oneof![
        Just(WeightSource::Dram),
        (bank_addr(), stride(), 0u8..16).prop_map(|(at, stride, group)| WeightSource::Rows { at, stride, group }),
        (bank_addr(), stride()).prop_map(|(at, stride)| WeightSource::Columns { at, stride }),
    ]
}

fn mode() -> impl Strategy<Value = OutMode> {
    prop_oneof![
        Just(OutMode::Int8),
        Just(OutMode::Int8Lut),
        (0u8..16).prop_map(|hi_bank| OutMode::Resid16 { hi_bank }),
        (0u8..16).prop_map(|copy_bank| OutMode::Int8Dup { copy_bank })
    ]
}

fn dma() -> impl Strategy<Value = Dma> {
    (bank_addr(), stride(), any::<u16>(), any::<u32>(), 0u64..(1 << 40), 0u64..(1 << 40)).prop_map(
        |(sp, sp_stride, rows, words, dram, dram_stride)| Dma { sp, sp_stride, rows, words, dram, dram_stride },
    )
}

fn vecop() -> impl Strategy<Value = VecOp> {
    (
        any::<u16>(),
        any::<u16>(),
        bank_addr(),
        0u8..16,
        stride(),
        bank_addr(),
        stride(),
        bank_addr(),
        any::<u16>(),
        any::<u8>(),
    )
        .prop_map(|(rows, n, input, in_hi_bank, in_stride, out, out_stride, params, m, s)| VecOp {
            rows,
            n,
            input,
            in_hi_bank,
            in_stride,
            out,
            out_stride,
            params,
            out_mult: Dyadic { m, s },
        })
}

fn op() -> impl Strategy<Value = Op> {
    let gemm = (
        (any::<u16>(), any::<u16>(), any::<u16>(), bank_addr(), stride(), any::<bool>()),
        (source(), bank_addr(), stride(), 0u8..16, mode(), prop::option::of(bank_addr()), 0u64..(1 << 40)),
    )
        .prop_map(|((m, k, n, a, a_stride, a_unsigned), (b, at, ostride, group, mode, row_scale, weights))| Gemm {
            m,
            k,
            n,
            a,
            a_stride,
            a_unsigned,
            b,
            out: GemmOut { at, stride: ostride, group, mode },
            row_scale,
            weights,
        });
    prop_oneof![
        dma().prop_map(Op::Load),
        dma().prop_map(Op::Store),
        gemm.prop_map(Op::Gemm),
        vecop().prop_map(Op::LayerNorm),
        vecop().prop_map(Op::Softmax),
        colmean().prop_map(Op::ColMean),
        select().prop_map(Op::Select)
    ]
}

fn colmean() -> impl Strategy<Value = ColMean> {
    (any::<u16>(), any::<u16>(), bank_addr(), stride(), bank_addr(), stride(), bank_addr(), any::<u16>()).prop_map(
        |(rows, n, input, in_stride, out, out_stride, mean_at, mean_byte)| ColMean {
            rows,
            n,
            input,
            in_stride,
            out,
            out_stride,
            mean_at,
            mean_byte,
        },
    )
}

fn select() -> impl Strategy<Value = Select> {
    (
        (any::<u16>(), any::<u16>(), bank_addr(), 0u8..16, stride()),
        (bank_addr(), stride(), stride(), any::<u8>(), 0u8..16),
        (bank_addr(), stride(), any::<u8>(), any::<u16>()),
    )
        .prop_map(
            |(
                (rows, n, x, x_hi_bank, x_stride),
                (probs, probs_stride, weights_addr, heads, prefix),
                (gather, gather_stride, gather_rows, package_byte),
            )| Select {
                rows,
                n,
                x,
                x_hi_bank,
                x_stride,
                probs,
                probs_stride,
                weights_addr,
                heads,
                prefix,
                gather,
                gather_stride,
                gather_rows,
                package_byte,
            },
        )
}

proptest! {
    #[test]
    fn instructions_round_trip(deps in deps(), op in op(), live_bits in 0u8..8) {
        let live_bits = if live::valid(op.unit(), live_bits) { live_bits } else { 0 };
        let i = Insn { deps, op, live: live_bits };
        prop_assert_eq!(Insn::decode(&i.encode()), Ok(i));
    }

    /// Resolving replaces exactly the selected sizes with the live count, for every op.
    #[test]
    fn resolve_replaces_the_selected_sizes(deps in deps(), op in op(), live_bits in 0u8..8, tokens: u16) {
        let i = Insn { deps, op, live: live_bits };
        let r = i.resolve(tokens);
        if !live::valid(op.unit(), live_bits) {
            let bad = matches!(r, Err(IsaError::BadField { field: "LIVE_SIZES", .. }));
            prop_assert!(bad, "resolve: {:?}", r);
            let mut w = Insn::new(op).encode();
            LIVE_SIZES.set(&mut w, live_bits as u64);
            let bad = matches!(Insn::decode(&w), Err(IsaError::BadField { field: "LIVE_SIZES", .. }));
            prop_assert!(bad, "decode");
            return Ok(());
        }
        let r = r.unwrap();
        prop_assert_eq!(r.live, 0);
        prop_assert_eq!(r.deps, deps);
        // The encoded words differ only in the LIVE_SIZES field and the replaced 16-bit sizes.
        let (a, b) = (i.encode(), r.encode());
        for slot in 0..3u32 {
            let f = Field { name: "size", lsb: live::FIRST_SIZE_LSB + 16 * slot, width: 16 };
            let want = if live_bits & (1 << slot) != 0 { tokens as u64 } else { f.get(&a) };
            prop_assert_eq!(f.get(&b), want, "slot {}", slot);
        }
        let mut a2 = a;
        LIVE_SIZES.set(&mut a2, 0);
        for slot in 0..3u32 {
            let f = Field { name: "size", lsb: live::FIRST_SIZE_LSB + 16 * slot, width: 16 };
            f.set(&mut a2, f.get(&b));
        }
        prop_assert_eq!(a2, b);
    }
}

#[test]
fn bad_opcodes_flags_and_reserved_bits_are_rejected() {
    let mut w = [0u8; INSN_BYTES];
    assert_eq!(Insn::decode(&w), Err(IsaError::BadOpcode(0)));
    w[0] = 0x7f;
    assert_eq!(Insn::decode(&w), Err(IsaError::BadOpcode(0x7f)));
    OPCODE.set(&mut w, Opcode::Gemm as u64);
    GEMM_FLAGS.set(&mut w, 3 << gemm_flags::MODE_SHIFT);
    GEMM_O_HI_BANK.set(&mut w, 5);
    assert!(matches!(Insn::decode(&w).unwrap().op, Op::Gemm(g) if g.out.mode == OutMode::Int8Dup { copy_bank: 5 }));
    GEMM_O_HI_BANK.set(&mut w, 0);
    GEMM_FLAGS.set(&mut w, gemm_flags::B_COLUMNS);
    assert!(matches!(Insn::decode(&w), Err(IsaError::BadField { .. })), "columns without on-chip");
    GEMM_FLAGS.set(&mut w, 0x80);
    assert!(matches!(Insn::decode(&w), Err(IsaError::BadField { .. })));
    GEMM_FLAGS.set(&mut w, 0);
    assert!(Insn::decode(&w).is_ok());
    w[INSN_BYTES - 1] = 0x80;
    assert!(matches!(Insn::decode(&w), Err(IsaError::BadField { field: "RESERVED", .. })));
}

#[test]
fn field_bits_are_little_endian() {
    let mut w = [0u8; INSN_BYTES];
    GEMM_M.set(&mut w, 0x1234);
    assert_eq!((w[8], w[9]), (0x34, 0x12));
}

#[test]
fn stream_sizes() {
    // 16x16, K = 192, N = 768: 48 n-tiles x (8 header words + 12 tiles x 16 rows).
    assert_eq!(weight_stream_words(192, 768, 16, 16, true, false), 48 * (8 + 192));
    assert_eq!(weight_stream_words(192, 768, 16, 16, false, false), 48 * 8);
    assert_eq!(weight_stream_words(192, 768, 16, 16, true, true), 16 + 48 * (8 + 192));
}

#[test]
fn a_field_wider_than_64_bits_sets_its_low_bits_and_clears_the_rest() {
    let mut w = [0xffu8; INSN_BYTES];
    RESERVED.set(&mut w, 5);
    let lo = (RESERVED.lsb / 8) as usize;
    assert_eq!(w[lo], 5);
    assert!(w[lo + 1..lo + (RESERVED.width / 8) as usize].iter().all(|&b| b == 0));
    assert!(w[..lo].iter().all(|&b| b == 0xff), "bits below the field untouched");
}
