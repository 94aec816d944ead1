import PaymentsCore
import Testing

/// One test per rule and per rejection reason of SPEC §2, through `Ledger.apply`. Every expected
/// balance is worked out by hand from the contract (amounts in ten-thousandths: 1_5000 is 1.5).
@Suite struct LedgerRulesTests {
    // MARK: deposit and withdrawal

    @Test func depositCreatesTheAccountAndAddsToAvailable() {
        let ledger = Ledger()
        #expect(ledger.account(1) == nil)
        #expect(ledger.apply(deposit(1, 1, 1_5000)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 2_2500)) == .applied)
        #expect(ledger.account(1) == account(1, available: 3_7500, held: 0))
        #expect(ledger.account(1)?.total == u(3_7500))
        #expect(ledger.accountCount == 1)
    }

    @Test func withdrawalSubtractsFromAvailableDownToExactlyZero() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 5_0000)) == .applied)
        #expect(ledger.apply(withdrawal(1, 2, 1_2500)) == .applied)
        #expect(ledger.account(1) == account(1, available: 3_7500, held: 0))
        #expect(ledger.apply(withdrawal(1, 3, 3_7500)) == .applied)
        #expect(ledger.account(1) == account(1, available: 0, held: 0))
    }

    @Test func insufficientFundsRefusesAndChangesNothing() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 1_0000)) == .applied)
        #expect(ledger.apply(withdrawal(1, 2, 1_0001)) == .rejected(.insufficientFunds))
        #expect(ledger.account(1) == account(1, available: 1_0000, held: 0))
        // Held money is not available: after a dispute nothing can be withdrawn.
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(withdrawal(1, 3, 1)) == .rejected(.insufficientFunds))
        #expect(ledger.account(1) == account(1, available: 0, held: 1_0000))
    }

    @Test func withdrawalFromAnUnknownClientIsRefusedForFunds() {
        let ledger = Ledger()
        #expect(ledger.apply(withdrawal(9, 1, 1)) == .rejected(.insufficientFunds))
        #expect(ledger.account(9) == nil)
    }

    // MARK: duplicate ids

    @Test func duplicateDepositIsRefused() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 1_0000)) == .applied)
        #expect(ledger.apply(deposit(1, 1, 5_0000)) == .rejected(.duplicate))
        #expect(ledger.account(1) == account(1, available: 1_0000, held: 0))
    }

    @Test func duplicateAcrossKindsAndClients() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 5_0000)) == .applied)
        #expect(ledger.apply(withdrawal(1, 1, 1_0000)) == .rejected(.duplicate))
        #expect(ledger.apply(deposit(2, 1, 3_0000)) == .rejected(.duplicate))
        #expect(ledger.apply(withdrawal(2, 1, 3_0000)) == .rejected(.duplicate))
        #expect(ledger.account(1) == account(1, available: 5_0000, held: 0))
        #expect(ledger.account(2) == nil)
        // A withdrawal's id is just as taken for a later deposit.
        #expect(ledger.apply(withdrawal(1, 2, 1_0000)) == .applied)
        #expect(ledger.apply(deposit(3, 2, 1_0000)) == .rejected(.duplicate))
        #expect(ledger.account(3) == nil)
        #expect(ledger.accountCount == 1)
    }

    @Test func idIsConsumedByAWithdrawalRefusedForFunds() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 1_0000)) == .applied)
        #expect(ledger.apply(withdrawal(1, 2, 5_0000)) == .rejected(.insufficientFunds))
        #expect(ledger.apply(deposit(1, 2, 3_0000)) == .rejected(.duplicate))
        #expect(ledger.apply(withdrawal(2, 2, 1)) == .rejected(.duplicate))
        #expect(ledger.account(1) == account(1, available: 1_0000, held: 0))
    }

    @Test func idIsConsumedByADepositRefusedOnALockedAccount() {
        let ledger = lockedClientOne()
        #expect(ledger.apply(deposit(1, 10, 1_0000)) == .rejected(.locked))
        #expect(ledger.apply(deposit(2, 10, 1_0000)) == .rejected(.duplicate))
        #expect(ledger.account(2) == nil)
        #expect(ledger.transactions.lookup(10)?.state == .rejected)
    }

    @Test func idIsConsumedByADepositRefusedForOverflow() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, Int64.max)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 1)) == .rejected(.overflow))
        #expect(ledger.apply(deposit(2, 2, 1)) == .rejected(.duplicate))
        #expect(ledger.account(2) == nil)
    }

    @Test func duplicateIsCheckedBeforeLockedAndFunds() {
        let ledger = lockedClientOne()
        // tx 1 was the charged-back deposit: reusing it is a duplicate first, whatever else is wrong.
        #expect(ledger.apply(deposit(1, 1, 1)) == .rejected(.duplicate))
        #expect(ledger.apply(withdrawal(1, 2, 999_0000)) == .rejected(.duplicate))
    }

    // MARK: locked accounts

    /// Client 1 after deposit 1 (4.0), deposit 2 (6.0), dispute 1, chargeback 1: 6.0 available, locked.
    func lockedClientOne() -> Ledger {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 4_0000)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 6_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(chargeback(1, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: 6_0000, held: 0, locked: true))
        return ledger
    }

    @Test func lockedAccountRefusesDepositsAndWithdrawals() {
        let ledger = lockedClientOne()
        #expect(ledger.apply(deposit(1, 3, 100_0000)) == .rejected(.locked))
        #expect(ledger.apply(withdrawal(1, 4, 1_0000)) == .rejected(.locked))
        // Locked is checked before funds.
        #expect(ledger.apply(withdrawal(1, 5, 1000_0000)) == .rejected(.locked))
        #expect(ledger.account(1) == account(1, available: 6_0000, held: 0, locked: true))
        // Other clients are not affected.
        #expect(ledger.apply(deposit(2, 6, 1_0000)) == .applied)
        #expect(ledger.account(2) == account(2, available: 1_0000, held: 0))
    }

    @Test func disputeResolveAndChargebackStillRunOnALockedAccount() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 5_0000)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 3_0000)) == .applied)
        #expect(ledger.apply(deposit(1, 3, 2_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(chargeback(1, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: 5_0000, held: 0, locked: true))
        #expect(ledger.apply(dispute(1, 2)) == .applied)
        #expect(ledger.account(1) == account(1, available: 2_0000, held: 3_0000, locked: true))
        #expect(ledger.apply(resolve(1, 2)) == .applied)
        #expect(ledger.account(1) == account(1, available: 5_0000, held: 0, locked: true))
        #expect(ledger.apply(dispute(1, 3)) == .applied)
        #expect(ledger.apply(chargeback(1, 3)) == .applied)
        #expect(ledger.account(1) == account(1, available: 3_0000, held: 0, locked: true))
    }

    // MARK: overflow

    @Test func depositThatWouldOverflowAvailableIsRefused() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, Int64.max)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 1)) == .rejected(.overflow))
        #expect(ledger.account(1) == account(1, available: Int64.max, held: 0))
        // Still usable: a withdrawal makes room for exactly one unit again.
        #expect(ledger.apply(withdrawal(1, 3, 1)) == .applied)
        #expect(ledger.apply(deposit(1, 4, 2)) == .rejected(.overflow))
        #expect(ledger.apply(deposit(1, 5, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: Int64.max, held: 0))
    }

    @Test func depositThatWouldOverflowTheTotalIsRefused() {
        // available alone would fit, but available + held would not.
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, Int64.max - 10)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: 0, held: Int64.max - 10))
        #expect(ledger.apply(deposit(1, 2, 11)) == .rejected(.overflow))
        #expect(ledger.apply(deposit(1, 3, 10)) == .applied)
        #expect(ledger.account(1) == account(1, available: 10, held: Int64.max - 10))
        #expect(ledger.account(1)?.total == u(Int64.max))
    }

    @Test func disputeThatWouldOverflowHeldIsRefusedNotTrapped() {
        // M in, M out, M in again, then both deposits disputed: held would be 2M.
        let m = Int64.max
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, m)) == .applied)
        #expect(ledger.apply(withdrawal(1, 2, m)) == .applied)
        #expect(ledger.apply(deposit(1, 3, m)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: 0, held: m))
        #expect(ledger.apply(dispute(1, 3)) == .rejected(.overflow))
        #expect(ledger.account(1) == account(1, available: 0, held: m))
        #expect(ledger.transactions.lookup(3)?.state == .ok)
    }

    // MARK: dispute

    @Test func disputeMovesTheDepositFromAvailableToHeld() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 1_0000)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 2_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 2)) == .applied)
        #expect(ledger.account(1) == account(1, available: 1_0000, held: 2_0000))
        #expect(ledger.account(1)?.total == u(3_0000))
        #expect(ledger.transactions.lookup(2)?.state == .disputed)
    }

    @Test func disputeOfAnUnknownIdIsRefused() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 5_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 99)) == .rejected(.unknownTx))
        #expect(ledger.apply(resolve(1, 99)) == .rejected(.unknownTx))
        #expect(ledger.apply(chargeback(1, 99)) == .rejected(.unknownTx))
        #expect(ledger.account(1) == account(1, available: 5_0000, held: 0))
    }

    @Test func disputeOfARefusedDepositIsRefused() {
        // The deposit consumed its id but moved no money: nothing can be held for it.
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, Int64.max)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 5)) == .rejected(.overflow))
        #expect(ledger.apply(dispute(1, 2)) == .rejected(.unknownTx))
        #expect(ledger.account(1) == account(1, available: Int64.max, held: 0))
    }

    @Test func withdrawalCannotBeDisputed() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 5_0000)) == .applied)
        #expect(ledger.apply(withdrawal(1, 2, 2_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 2)) == .rejected(.notADeposit))
        #expect(ledger.apply(resolve(1, 2)) == .rejected(.notADeposit))
        #expect(ledger.apply(chargeback(1, 2)) == .rejected(.notADeposit))
        #expect(ledger.account(1) == account(1, available: 3_0000, held: 0))
        // The kind is checked before the client.
        #expect(ledger.apply(dispute(7, 2)) == .rejected(.notADeposit))
        #expect(ledger.account(7) == nil)
    }

    @Test func disputeByAnotherClientIsRefused() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 5_0000)) == .applied)
        #expect(ledger.apply(deposit(2, 2, 1_0000)) == .applied)
        #expect(ledger.apply(dispute(2, 1)) == .rejected(.clientMismatch))
        #expect(ledger.account(1) == account(1, available: 5_0000, held: 0))
        #expect(ledger.account(2) == account(2, available: 1_0000, held: 0))
        #expect(ledger.apply(dispute(3, 1)) == .rejected(.clientMismatch))
        #expect(ledger.account(3) == nil)
        // Under dispute by its owner, another client can neither resolve nor charge it back.
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(resolve(2, 1)) == .rejected(.clientMismatch))
        #expect(ledger.apply(chargeback(2, 1)) == .rejected(.clientMismatch))
        // The client is checked before the dispute state.
        #expect(ledger.apply(dispute(2, 1)) == .rejected(.clientMismatch))
        #expect(ledger.account(1) == account(1, available: 0, held: 5_0000))
        #expect(ledger.account(2) == account(2, available: 1_0000, held: 0, locked: false))
    }

    @Test func secondDisputeOfTheSameDepositIsRefused() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 4_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .rejected(.alreadyDisputed))
        #expect(ledger.account(1) == account(1, available: 0, held: 4_0000))
    }

    @Test func disputeMayMakeAvailableNegative() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 10_0000)) == .applied)
        #expect(ledger.apply(withdrawal(1, 2, 8_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: -8_0000, held: 10_0000))
        #expect(ledger.account(1)?.total == u(2_0000))
        // Nothing can be withdrawn from a negative balance.
        #expect(ledger.apply(withdrawal(1, 3, 1)) == .rejected(.insufficientFunds))
    }

    // MARK: resolve

    @Test func resolveReleasesHeldMoney() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 1_0000)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 2_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 2)) == .applied)
        #expect(ledger.apply(resolve(1, 2)) == .applied)
        #expect(ledger.account(1) == account(1, available: 3_0000, held: 0))
        #expect(ledger.transactions.lookup(2)?.state == .resolved)
    }

    @Test func resolveOfAnUndisputedDepositIsRefused() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 4_0000)) == .applied)
        #expect(ledger.apply(resolve(1, 1)) == .rejected(.notDisputed))
        #expect(ledger.account(1) == account(1, available: 4_0000, held: 0))
        // And a second resolve after a resolve.
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(resolve(1, 1)) == .applied)
        #expect(ledger.apply(resolve(1, 1)) == .rejected(.notDisputed))
        #expect(ledger.account(1) == account(1, available: 4_0000, held: 0))
    }

    @Test func depositMayBeDisputedAgainAfterAResolve() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 4_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(resolve(1, 1)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: 0, held: 4_0000))
        #expect(ledger.apply(chargeback(1, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: 0, held: 0, locked: true))
    }

    // MARK: chargeback

    @Test func chargebackRemovesHeldMoneyAndLocks() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 1_0000)) == .applied)
        #expect(ledger.apply(deposit(1, 2, 2_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 2)) == .applied)
        #expect(ledger.apply(chargeback(1, 2)) == .applied)
        #expect(ledger.account(1) == account(1, available: 1_0000, held: 0, locked: true))
        #expect(ledger.account(1)?.total == u(1_0000))
        #expect(ledger.transactions.lookup(2)?.state == .chargedBack)
    }

    @Test func chargebackOfAnUndisputedDepositIsRefused() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 4_0000)) == .applied)
        #expect(ledger.apply(chargeback(1, 1)) == .rejected(.notDisputed))
        #expect(ledger.account(1) == account(1, available: 4_0000, held: 0))
        // Nor after a resolve.
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(resolve(1, 1)) == .applied)
        #expect(ledger.apply(chargeback(1, 1)) == .rejected(.notDisputed))
        #expect(ledger.account(1) == account(1, available: 4_0000, held: 0, locked: false))
    }

    @Test func chargebackIsFinal() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 4_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(chargeback(1, 1)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .rejected(.chargedBack))
        #expect(ledger.apply(resolve(1, 1)) == .rejected(.notDisputed))
        #expect(ledger.apply(chargeback(1, 1)) == .rejected(.notDisputed))
        #expect(ledger.account(1) == account(1, available: 0, held: 0, locked: true))
        #expect(ledger.transactions.lookup(1)?.state == .chargedBack)
    }

    @Test func chargebackAfterNegativeAvailableLeavesANegativeTotal() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(1, 1, 10_0000)) == .applied)
        #expect(ledger.apply(withdrawal(1, 2, 8_0000)) == .applied)
        #expect(ledger.apply(dispute(1, 1)) == .applied)
        #expect(ledger.apply(chargeback(1, 1)) == .applied)
        #expect(ledger.account(1) == account(1, available: -8_0000, held: 0, locked: true))
        #expect(ledger.account(1)?.total == u(-8_0000))
    }

    // MARK: accounts

    @Test func onlyAnAppliedTransactionCreatesAnAccount() {
        let ledger = Ledger()
        #expect(ledger.apply(withdrawal(3, 1, 5_0000)) == .rejected(.insufficientFunds))
        #expect(!ledger.apply(dispute(6, 1)).isApplied)  // tx 1 is a refused withdrawal
        #expect(ledger.apply(dispute(6, 77)) == .rejected(.unknownTx))
        #expect(ledger.apply(resolve(6, 77)) == .rejected(.unknownTx))
        #expect(ledger.apply(chargeback(6, 77)) == .rejected(.unknownTx))
        #expect(ledger.apply(deposit(4, 1, 1)) == .rejected(.duplicate))
        #expect(ledger.accountCount == 0)
        #expect(ledger.accounts.isEmpty)
        for c: ClientID in [3, 4, 6] { #expect(ledger.account(c) == nil) }
        #expect(ledger.apply(deposit(4, 2, 1_0000)) == .applied)
        #expect(ledger.accountCount == 1)
        #expect(ledger.accounts == [account(4, available: 1_0000, held: 0)])
    }

    @Test func accountCountAndOrder() {
        let ledger = Ledger()
        let clients: [ClientID] = [300, 2, 65535, 0, 1, 2, 300, 65535]
        for (i, c) in clients.enumerated() {
            #expect(ledger.apply(deposit(c, TransactionID(i), 1_0000)) == .applied)
        }
        #expect(ledger.accountCount == 5)
        #expect(ledger.accounts.map(\.client) == [0, 1, 2, 300, 65535])
        #expect(ledger.accounts.map(\.available) == [u(1_0000), u(1_0000), u(2_0000), u(2_0000), u(2_0000)])
        var visited: [ClientID] = []
        ledger.forEachAccount { visited.append($0.client) }
        #expect(visited == [0, 1, 2, 300, 65535])
        // A withdrawal to zero keeps the account; refusals add none.
        #expect(ledger.apply(withdrawal(0, 100, 1_0000)) == .applied)
        #expect(ledger.apply(withdrawal(7, 101, 1)) == .rejected(.insufficientFunds))
        #expect(ledger.accountCount == 5)
        #expect(ledger.account(0) == account(0, available: 0, held: 0))
    }

    @Test func extremeIdsAndClients() {
        let ledger = Ledger()
        #expect(ledger.apply(deposit(0, 0, 1)) == .applied)
        #expect(ledger.apply(deposit(65535, TransactionID.max, 2)) == .applied)
        #expect(ledger.apply(dispute(65535, TransactionID.max)) == .applied)
        #expect(ledger.apply(dispute(0, 0)) == .applied)
        #expect(ledger.accounts == [account(0, available: 0, held: 1), account(65535, available: 0, held: 2)])
    }

    // MARK: outcome codes

    @Test func outcomeCodesRoundTripAndReasonsAreTheContractsWords() {
        #expect(Outcome.applied.code == 0)
        #expect(Outcome(code: 0) == .applied)
        for r in Rejection.allCases {
            #expect(Outcome(code: Outcome.rejected(r).code) == .rejected(r))
            #expect(Outcome.rejected(r).code != 0)
            #expect(!Outcome.rejected(r).isApplied)
        }
        #expect(Outcome(code: 200) == nil)
        #expect(Set(Rejection.allCases.map(\.rawValue)).count == Rejection.allCases.count)
        let words = Rejection.allCases.map(\.reason)
        #expect(words == [
            "duplicate", "locked", "overflow", "insufficient funds", "unknown tx", "not a deposit",
            "client mismatch", "already disputed", "charged back", "not disputed",
        ])
    }
}
