import PaymentsCore
import PaymentsTestSupport
import PaymentsFormat
import Testing

@Suite struct AmountTextTests {
    // MARK: accepted (§1), values worked out by hand in ten-thousandths

    @Test(arguments: [
        ("1", 1_0000), ("1.", 1_0000), ("1.5", 1_5000), (".5", 5000), ("0001.2500", 1_2500),
        ("0.0001", 1), ("0", 0), ("0.", 0), (".0", 0), ("0000", 0), ("12.34", 12_3400), ("12.345", 12_3450),
        ("12.3456", 12_3456), ("7.0500", 7_0500), ("100", 100_0000), ("00000000000000000000000000042.1", 42_1000),
        ("922337203685477", 922_337_203_685_477_0000), ("922337203685477.5807", Int64.max),
        ("922337203685477.5", 922_337_203_685_477_5000),
        (" 1.5", 1_5000), ("1.5 ", 1_5000), ("\t1.5\t", 1_5000), (" \t 2.0001 \t ", 2_0001), ("  .5  ", 5000),
    ] as [(String, Int64)])
    func accepted(text: String, units: Int64) {
        #expect(parseAmount(text) == .success(Amount(units: units)), "\(text)")
    }

    // MARK: refused (§1), each with its reason

    @Test(arguments: [
        ("+1", AmountError.sign), ("-1", .sign), ("-0", .sign), ("- 1", .sign), (" -1.5", .sign), ("1-", .sign),
        ("1e3", .exponent), ("1E3", .exponent), ("1.5e2", .exponent), ("1e-3", .exponent), ("1.E5", .exponent),
        ("1.00001", .tooManyFractionDigits), ("0.12345", .tooManyFractionDigits), (".00000", .tooManyFractionDigits),
        ("", .noDigits), (".", .noDigits), (" ", .noDigits), ("\t \t", .noDigits), (" . ", .noDigits),
        ("922337203685477.5808", .tooLarge), ("922337203685478", .tooLarge), ("922337203685477.6", .tooLarge),
        ("99999999999999999999999999", .tooLarge), ("1000000000000000", .tooLarge),
        ("1 5", .invalidCharacter), ("1. 5", .invalidCharacter), ("1 .5", .invalidCharacter),
        ("abc", .invalidCharacter), ("1a", .invalidCharacter), ("1,5", .invalidCharacter), ("1.5.5", .invalidCharacter),
        ("0x10", .invalidCharacter), ("1_000", .invalidCharacter), ("١", .invalidCharacter), ("NaN", .invalidCharacter),
        ("inf", .invalidCharacter), ("\"1\"", .invalidCharacter), ("1\n", .invalidCharacter), ("1\r", .invalidCharacter),
    ] as [(String, AmountError)])
    func refused(text: String, error: AmountError) {
        #expect(parseAmount(text) == .failure(error), "\(text.debugDescription)")
    }

    @Test func tooLargeByOneUnit() {
        #expect(parseAmount("922337203685477.5807") == .success(Amount(units: Int64.max)))
        #expect(parseAmount("922337203685477.5808") == .failure(.tooLarge))
        #expect(parseAmount("0922337203685477.58070") == .failure(.tooManyFractionDigits))
        #expect(parseAmount("000922337203685477.5807") == .success(Amount(units: Int64.max)))
    }

    // MARK: formatting (§3): exactly four decimals, a minus sign when negative

    @Test(arguments: [
        (0, "0.0000"), (1, "0.0001"), (10, "0.0010"), (9_999, "0.9999"), (1_0000, "1.0000"), (1_5000, "1.5000"),
        (-2500, "-0.2500"), (-1, "-0.0001"), (-1_5000, "-1.5000"), (-8_0000, "-8.0000"), (10_0000, "10.0000"),
        (100_0500, "100.0500"), (1234_5678, "1234.5678"), (1000_0000_0000, "10000000.0000"), (1_0000_0000_0000, "100000000.0000"),
        (Int64.max, "922337203685477.5807"), (Int64.min, "-922337203685477.5808"), (Int64.min + 1, "-922337203685477.5807"),
    ] as [(Int64, String)])
    func formats(units: Int64, text: String) {
        #expect(AmountText.format(Amount(units: units)) == text)
        var bytes: [UInt8] = [0x41]
        AmountText.append(Amount(units: units), to: &bytes)
        #expect(bytes == [0x41] + Array(text.utf8), "append adds to what is there")
    }

    @Test func appendDecimal() {
        for (v, s) in [(0, "0"), (7, "7"), (10, "10"), (65535, "65535"), (100_000, "100000"),
                       (UInt64.max, "18446744073709551615"), (10_000_000_000_000_000_000, "10000000000000000000")] as [(UInt64, String)] {
            var bytes: [UInt8] = []
            AmountText.appendDecimal(v, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == s)
        }
    }

    // MARK: round trips

    @Test func parseOfFormatIsIdentityOnEdgesAndRandomValues() {
        var values: [Int64] = [0, 1, 9, 10, 99, 9_999, 1_0000, 1_0001, Int64.max, Int64.max - 1, Int64.max / 10_000 * 10_000]
        for p in 0..<19 { var x: Int64 = 1; for _ in 0..<p { x *= 10 }; values += [x, x - 1, x + 1] }
        var rng = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            let v = Int64(bitPattern: rng.next() >> 1)
            values.append(v >> rng.below(63))
        }
        var failures: [Int64] = []
        for v in values where v >= 0 {
            if parseAmount(AmountText.format(Amount(units: v))) != .success(Amount(units: v)) { failures.append(v) }
            // Negative amounts print with a sign, which input refuses; their magnitude round-trips.
            if v > 0 {
                let text = AmountText.format(Amount(units: -v))
                if text != "-" + AmountText.format(Amount(units: v)) { failures.append(-v) }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    /// Random amount text in every accepted shape; the expected value is computed here digit by
    /// digit in 128-bit arithmetic, independently of the parser.
    @Test func randomTextParsesToItsExactValue() {
        var rng = SplitMix64(seed: 2026)
        var failures: [String] = []
        for _ in 0..<20_000 {
            let wholeDigits = rng.below(17), fractionDigits = rng.below(6)
            var text = ""
            var whole: Int128 = 0
            for _ in 0..<wholeDigits { let d = rng.below(10); text += String(d); whole = whole * 10 + Int128(d) }
            var fraction: Int128 = 0
            var fractionText = ""
            for _ in 0..<fractionDigits { let d = rng.below(10); fractionText += String(d); fraction = fraction * 10 + Int128(d) }
            let point = fractionDigits > 0 || rng.below(4) == 0
            if point { text += "." + fractionText }
            for _ in 0..<(4 - min(fractionDigits, 4)) { fraction *= 10 }
            let padded = [" ", "\t", ""][rng.below(3)] + text + [" ", "\t", ""][rng.below(3)]
            let value = whole * 10_000 + fraction
            let expected: Result<Amount, AmountError>
            if wholeDigits + fractionDigits == 0 {
                expected = .failure(.noDigits)
            } else if fractionDigits > 4 {
                // The whole part is read first: a whole part that is already too large says so.
                expected = whole > 922_337_203_685_477 ? .failure(.tooLarge) : .failure(.tooManyFractionDigits)
            } else if value > Int128(Int64.max) {
                expected = .failure(.tooLarge)
            } else {
                expected = .success(Amount(units: Int64(value)))
            }
            if parseAmount(padded) != expected { failures.append(padded) }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test func errorMessagesAreDistinct() {
        let all: [AmountError] = [.sign, .exponent, .tooManyFractionDigits, .noDigits, .tooLarge, .invalidCharacter]
        #expect(Set(all.map(\.message)).count == all.count)
        #expect(all.allSatisfy { !$0.message.isEmpty })
    }
}
