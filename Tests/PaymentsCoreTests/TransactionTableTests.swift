import PaymentsCore
import PaymentsTestSupport
import Testing

@Suite struct TransactionTableTests {
    func stored(_ i: UInt32, state: TransactionState = .ok) -> StoredTransaction {
        StoredTransaction(
            kind: i % 3 == 0 ? .withdrawal : .deposit, client: ClientID(truncatingIfNeeded: i &* 7),
            amount: Amount(units: Int64(i) &* 10_007 &+ 1), state: state)
    }

    @Test func insertLookupAndSetState() {
        let table = TransactionTable()
        #expect(table.count == 0)
        #expect(table.lookup(5) == nil)
        let a = StoredTransaction(kind: .deposit, client: 65535, amount: Amount(units: Int64.max), state: .ok)
        #expect(table.insert(5, a))
        #expect(table.count == 1)
        #expect(table.lookup(5) == a)
        #expect(table.lookup(4) == nil)
        #expect(table.lookup(6) == nil)
        for state in TransactionState.allCases {
            table.setState(5, state)
            var expected = a
            expected.state = state
            #expect(table.lookup(5) == expected)
        }
        #expect(table.count == 1)
    }

    @Test func everyKindStateClientAndAmountSurvivesEncoding() {
        let table = TransactionTable()
        var id: UInt32 = 0
        var expected: [UInt32: StoredTransaction] = [:]
        for kind in TransactionKind.allCases {
            for state in TransactionState.allCases {
                for client: ClientID in [0, 1, 255, 256, 65535] {
                    for units: Int64 in [0, 1, 9_999, 1 << 40, Int64.max, -1, Int64.min] {
                        let s = StoredTransaction(kind: kind, client: client, amount: Amount(units: units), state: state)
                        #expect(table.insert(id, s))
                        expected[id] = s
                        id += 1
                    }
                }
            }
        }
        for (k, v) in expected { #expect(table.lookup(k) == v) }
        #expect(table.count == expected.count)
    }

    @Test func idZeroAndTheLargestIdAreOrdinaryIds() {
        let table = TransactionTable()
        let zero = StoredTransaction(kind: .deposit, client: 0, amount: .zero, state: .ok)
        #expect(table.lookup(0) == nil)
        #expect(table.insert(0, zero))
        #expect(table.lookup(0) == zero)
        #expect(!table.insert(0, zero))
        #expect(table.lookup(UInt32.max) == nil)
        #expect(table.insert(UInt32.max, stored(1)))
        #expect(table.lookup(UInt32.max) == stored(1))
        #expect(table.count == 2)
    }

    @Test func duplicateInsertIsRefusedAndKeepsTheFirstValue() {
        let table = TransactionTable()
        #expect(table.insert(42, stored(1)))
        #expect(!table.insert(42, stored(2)))
        #expect(!table.insert(42, stored(1)))
        #expect(table.lookup(42) == stored(1))
        #expect(table.count == 1)
    }

    /// Inserts `ids` (distinct) and checks every one afterwards, states changed on a third of them,
    /// ids not inserted absent, and `forEach` visiting exactly the inserted set.
    func fillAndCheck(_ ids: [UInt32], absent: [UInt32], expectedCount: Int = 0) {
        let table = TransactionTable(expectedCount: expectedCount)
        var expected: [UInt32: StoredTransaction] = [:]
        expected.reserveCapacity(ids.count)
        for id in ids {
            let ok = table.insert(id, stored(id))
            if !ok { Issue.record("insert of \(id) refused"); return }
            expected[id] = stored(id)
        }
        #expect(table.count == ids.count)
        #expect(table.capacity * 3 / 4 >= ids.count)
        for id in ids where id % 3 == 1 {
            table.setState(id, .disputed)
            expected[id]!.state = .disputed
        }
        var mismatches = 0
        for id in ids where table.lookup(id) != expected[id] { mismatches += 1 }
        #expect(mismatches == 0)
        for id in ids.prefix(1000) where table.insert(id, stored(id &+ 1)) { mismatches += 1 }
        #expect(mismatches == 0, "a present id was inserted again")
        var present = 0
        for id in absent where expected[id] == nil && table.lookup(id) != nil { present += 1 }
        #expect(present == 0)
        var visited: [UInt32: StoredTransaction] = [:]
        table.forEach { id, s in
            if visited[id] != nil { mismatches += 1 }
            visited[id] = s
        }
        #expect(mismatches == 0, "forEach visited an id twice")
        #expect(visited == expected)
    }

    @Test func growsPastManyThousandsOfSequentialIds() {
        let ids = (0..<300_000).map { UInt32($0) + 1_000 }
        fillAndCheck(ids, absent: Array(0..<1_000) + (301_000..<302_000).map { UInt32($0) })
    }

    @Test func presizedTableHoldsItsExpectedCount() {
        let table = TransactionTable(expectedCount: 1_000_000)
        #expect(table.capacity * 3 / 4 >= 1_000_000)
        fillAndCheck((0..<100_000).map { UInt32($0) * 3 }, absent: (0..<1000).map { UInt32($0) * 3 + 1 }, expectedCount: 1_000_000)
    }

    @Test func multiplesOfTwoToThe24() {
        let ids = (0..<256).map { UInt32($0) << 24 }
        fillAndCheck(ids, absent: ids.map { $0 | 1 } + ids.map { $0 | 0x0100_0000 >> 8 })
    }

    @Test func multiplesOfTwoToThe16() {
        let ids = (0..<65_536).map { UInt32($0) << 16 }
        fillAndCheck(ids, absent: (0..<2_000).map { (UInt32($0) << 16) | 0x8000 })
    }

    @Test func sameLowBitsManyHighBits() {
        // Every id shares its low 20 bits: a table indexed by low bits would put them all in one slot.
        let ids = (0..<4_096).map { (UInt32($0) << 20) | 0x0_ABCDE }
        fillAndCheck(ids, absent: (0..<4_096).map { (UInt32($0) << 20) | 0x0_ABCDF })
    }

    @Test func idsThatCollideUnderTheFoldedHome() {
        // id ^ (id >> 24) is the same for (k << 24) | k and 0 ... many ids fold onto few homes.
        var ids: [UInt32] = []
        for k in 0..<256 { for low in 0..<64 { ids.append((UInt32(k) << 24) | UInt32(k ^ low)) } }
        fillAndCheck(Array(Set(ids)).sorted(), absent: [0x7FFF_FFFF, 0x00FF_FF00])
    }

    @Test func descendingAndStridedAndRandomIds() {
        fillAndCheck((0..<50_000).map { UInt32.max - UInt32($0) }, absent: (50_000..<51_000).map { UInt32.max - UInt32($0) })
        fillAndCheck((0..<50_000).map { UInt32($0) &* 4_096 &+ 7 }, absent: (0..<1_000).map { UInt32($0) &* 4_096 })
        var rng = SplitMix64(seed: 77)
        var set = Set<UInt32>()
        while set.count < 100_000 { set.insert(UInt32(truncatingIfNeeded: rng.next())) }
        let ids = Array(set)
        var absent: [UInt32] = []
        while absent.count < 1_000 {
            let x = UInt32(truncatingIfNeeded: rng.next())
            if !set.contains(x) { absent.append(x) }
        }
        fillAndCheck(ids, absent: absent)
    }
}
