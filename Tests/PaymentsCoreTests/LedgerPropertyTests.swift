import PaymentsCore
import Testing

/// A second, deliberately naive reading of SPEC §2 (dictionaries, 128-bit sums), written from the
/// contract, not from `Ledger`. The ledger must agree with it on every outcome and every balance.
/// Where the contract is silent it follows the project's documented choices: a refused deposit or
/// withdrawal consumed its id but is `unknown tx` to a dispute; a dispute that would take a balance
/// out of the 64-bit range is refused as `overflow`.
struct ModelLedger {
    struct Acct: Equatable { var available: Int128 = 0; var held: Int128 = 0; var locked = false }
    enum State { case ok, disputed, resolved, chargedBack, refused }
    struct Used { var kind: TransactionKind; var client: ClientID; var amount: Int128; var state: State }

    var accounts: [ClientID: Acct] = [:]
    var used: [TransactionID: Used] = [:]
    static let range = Int128(Int64.min)...Int128(Int64.max)

    mutating func apply(_ t: Transaction) -> Outcome {
        let a = accounts[t.client] ?? Acct()
        let amount = Int128(t.amount.units)
        switch t.kind {
        case .deposit, .withdrawal:
            if used[t.tx] != nil { return .rejected(.duplicate) }
            var refusal: Rejection?
            if a.locked {
                refusal = .locked
            } else if t.kind == .deposit {
                if !Self.range.contains(a.available + amount) || !Self.range.contains(a.available + amount + a.held) {
                    refusal = .overflow
                }
            } else if a.available < amount {
                refusal = .insufficientFunds
            }
            used[t.tx] = Used(kind: t.kind, client: t.client, amount: amount, state: refusal == nil ? .ok : .refused)
            if let refusal { return .rejected(refusal) }
            var b = a
            b.available += t.kind == .deposit ? amount : -amount
            accounts[t.client] = b
            return .applied
        case .dispute, .resolve, .chargeback:
            guard let u = used[t.tx], u.state != .refused else { return .rejected(.unknownTx) }
            guard u.kind == .deposit else { return .rejected(.notADeposit) }
            guard u.client == t.client else { return .rejected(.clientMismatch) }
            var b = a
            switch t.kind {
            case .dispute:
                if u.state == .disputed { return .rejected(.alreadyDisputed) }
                if u.state == .chargedBack { return .rejected(.chargedBack) }
                b.available -= u.amount
                b.held += u.amount
                if !Self.range.contains(b.available) || !Self.range.contains(b.held) { return .rejected(.overflow) }
                used[t.tx]!.state = .disputed
            case .resolve:
                if u.state != .disputed { return .rejected(.notDisputed) }
                b.held -= u.amount
                b.available += u.amount
                used[t.tx]!.state = .resolved
            default:
                if u.state != .disputed { return .rejected(.notDisputed) }
                b.held -= u.amount
                b.locked = true
                used[t.tx]!.state = .chargedBack
            }
            accounts[t.client] = b
            return .applied
        }
    }

    var sortedAccounts: [Account] {
        accounts.keys.sorted().map { c in
            let a = accounts[c]!
            return Account(
                client: c, available: Amount(units: Int64(a.available)), held: Amount(units: Int64(a.held)),
                locked: a.locked)
        }
    }
}

@Suite struct LedgerPropertyTests {
    static let seeds: [UInt64] = [1, 2, 3, 0xDEAD_BEEF, 20_261_125, 0xFFFF_FFFF_FFFF_FFFF]

    @Test(arguments: seeds)
    func ledgerAgreesWithTheModelOnEveryOutcome(seed: UInt64) {
        let stream = randomStream(seed: seed, count: 6_000)
        let ledger = Ledger()
        var model = ModelLedger()
        var disagreements = 0
        for (i, t) in stream.enumerated() {
            let got = ledger.apply(t), want = model.apply(t)
            if got != want {
                disagreements += 1
                if disagreements <= 5 { Issue.record("seed \(seed) #\(i) \(t): ledger \(got), model \(want)") }
            }
        }
        #expect(disagreements == 0)
        #expect(accountDifferences(ledger.accounts, model.sortedAccounts) == nil)
        #expect(ledger.accountCount == model.accounts.count)
    }

    @Test(arguments: seeds)
    func balancesAddUpToTheMoneyThatMoved(seed: UInt64) {
        let stream = randomStream(seed: seed, count: 6_000)
        let ledger = Ledger()
        // The amount of every deposit and withdrawal by its id, as sent (first use of the id).
        var amountOf: [TransactionID: Int128] = [:]
        var deposited: Int128 = 0, withdrawn: Int128 = 0, chargedBack: Int128 = 0
        for t in stream {
            if t.kind.movesMoney, amountOf[t.tx] == nil { amountOf[t.tx] = Int128(t.amount.units) }
            guard ledger.apply(t).isApplied else { continue }
            switch t.kind {
            case .deposit: deposited += Int128(t.amount.units)
            case .withdrawal: withdrawn += Int128(t.amount.units)
            case .chargeback: chargedBack += amountOf[t.tx]!
            case .dispute, .resolve: break
            }
        }
        var sumOfTotals: Int128 = 0
        var heldNegative = 0, totalMismatch = 0
        for a in ledger.accounts {
            if Int128(a.available.units) + Int128(a.held.units) != Int128(a.total.units) { totalMismatch += 1 }
            if a.held.units < 0 { heldNegative += 1 }
            sumOfTotals += Int128(a.total.units)
        }
        #expect(totalMismatch == 0, "total != available + held")
        #expect(heldNegative == 0)
        #expect(sumOfTotals == deposited - withdrawn - chargedBack)
        #expect(deposited > 0 && withdrawn > 0 && chargedBack > 0, "the stream exercises all money movements")
    }

    @Test func invariantsHoldAfterEveryTransaction() {
        // total == available + held for the touched account after each step, not only at the end.
        let stream = randomStream(seed: 99, count: 4_000, clients: 12)
        let ledger = Ledger()
        var bad = 0
        for t in stream {
            _ = ledger.apply(t)
            if let a = ledger.account(t.client) {
                if Int128(a.available.units) + Int128(a.held.units) != Int128(a.total.units) || a.held.units < 0 { bad += 1 }
            }
        }
        #expect(bad == 0)
    }

    @Test(arguments: seeds)
    func sameStreamGivesTheSameAccounts(seed: UInt64) {
        let stream = randomStream(seed: seed, count: 5_000)
        let a = Ledger(), b = Ledger(expectedTransactions: 100_000)
        let outcomesA = stream.map { a.apply($0) }
        let outcomesB = stream.map { b.apply($0) }
        #expect(outcomesA == outcomesB)
        #expect(accountDifferences(a.accounts, b.accounts) == nil)
        #expect(a.accountCount == b.accountCount)
        #expect(a.transactions.count == b.transactions.count)
        // And the generator itself is deterministic, but different seeds differ.
        #expect(randomStream(seed: seed, count: 100) == Array(stream.prefix(100)))
        #expect(randomStream(seed: seed &+ 1, count: 100) != Array(stream.prefix(100)))
    }

    @Test func streamsReachEveryRejectionReason() {
        var seen = Set<Outcome>()
        for seed in Self.seeds {
            let ledger = Ledger()
            for t in randomStream(seed: seed, count: 6_000) { seen.insert(ledger.apply(t)) }
        }
        for r in Rejection.allCases { #expect(seen.contains(.rejected(r)), "no stream produced \(r)") }
        #expect(seen.contains(.applied))
    }

    @Test(arguments: seeds)
    func restoreRebuildsAnEqualLedger(seed: UInt64) {
        let stream = randomStream(seed: seed, count: 6_000)
        let head = stream.prefix(4_000), tail = stream.dropFirst(4_000)
        let original = Ledger()
        for t in head { _ = original.apply(t) }

        let copy = Ledger()
        for a in original.accounts { copy.restore(a) }
        var refused = 0
        original.transactions.forEach { id, s in if !copy.restore(id: id, s) { refused += 1 } }
        #expect(refused == 0)
        #expect(accountDifferences(copy.accounts, original.accounts) == nil)
        #expect(copy.accountCount == original.accountCount)
        #expect(copy.transactions.count == original.transactions.count)
        var differing = 0
        original.transactions.forEach { id, s in if copy.transactions.lookup(id) != s { differing += 1 } }
        #expect(differing == 0)
        // A restored id is taken: restoring it again is refused.
        var firstID: TransactionID?
        original.transactions.forEach { id, _ in if firstID == nil { firstID = id } }
        if let firstID { #expect(!copy.restore(id: firstID, original.transactions.lookup(firstID)!)) }

        // The copy behaves exactly as the original from here on.
        var diverged = 0
        for t in tail where original.apply(t) != copy.apply(t) { diverged += 1 }
        #expect(diverged == 0)
        #expect(accountDifferences(copy.accounts, original.accounts) == nil)
    }

    @Test func restoreKeepsLockedAndNegativeAccounts() {
        let copy = Ledger()
        let locked = account(7, available: -8_0000, held: 0, locked: true)
        copy.restore(locked)
        copy.restore(account(3, available: 1_0000, held: 2_0000))
        #expect(copy.accounts == [account(3, available: 1_0000, held: 2_0000), locked])
        #expect(copy.accountCount == 2)
        #expect(copy.apply(deposit(7, 1, 1)) == .rejected(.locked))
        #expect(copy.apply(withdrawal(3, 2, 1_0001)) == .rejected(.insufficientFunds))
    }
}
