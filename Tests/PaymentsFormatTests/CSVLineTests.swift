import PaymentsCore
import PaymentsFormat
import Testing

@Suite struct CSVLineTests {
    @Test func plainLines() {
        #expect(csv("deposit,1,2,1.5") == tx(.deposit, 1, 2, 1_5000))
        #expect(csv("withdrawal,65535,4294967295,0.0001") == tx(.withdrawal, 65535, 4_294_967_295, 1))
        #expect(csv("deposit,0,0,922337203685477.5807") == tx(.deposit, 0, 0, Int64.max))
        #expect(csv("dispute,1,2,") == tx(.dispute, 1, 2))
        #expect(csv("resolve,1,2,") == tx(.resolve, 1, 2))
        #expect(csv("chargeback,1,2,") == tx(.chargeback, 1, 2))
    }

    @Test func paddingWithSpacesAndTabs() {
        #expect(csv(" deposit , 1 ,\t2\t, 1.5 ") == tx(.deposit, 1, 2, 1_5000))
        #expect(csv("\t\tdeposit\t,\t1\t,\t2\t,\t1.5\t") == tx(.deposit, 1, 2, 1_5000))
        #expect(csv("  DEPOSIT , 1 ,\t1 , 3.0 ") == tx(.deposit, 1, 1, 3_0000))
        #expect(csv("dispute , 3 , 4 ") == tx(.dispute, 3, 4))
    }

    @Test func typeIsCaseInsensitive() {
        for word in ["deposit", "DEPOSIT", "Deposit", "dEpOsIt"] { #expect(csv("\(word),1,2,1") == tx(.deposit, 1, 2, 1_0000)) }
        for word in ["withdrawal", "WITHDRAWAL", "Withdrawal"] { #expect(csv("\(word),1,2,1") == tx(.withdrawal, 1, 2, 1_0000)) }
        #expect(csv("DISPUTE,1,2,") == tx(.dispute, 1, 2))
        #expect(csv("Resolve,1,2") == tx(.resolve, 1, 2))
        #expect(csv("ChargeBack,1,2") == tx(.chargeback, 1, 2))
    }

    @Test func carriageReturnBeforeTheNewlineIsIgnored() {
        #expect(csv("deposit,1,2,1.5\r") == tx(.deposit, 1, 2, 1_5000))
        #expect(csv("dispute,1,2,\r") == tx(.dispute, 1, 2))
        #expect(csv("dispute,1,2\r") == tx(.dispute, 1, 2))
        #expect(csv("deposit,1,2, 1.5 \r") == tx(.deposit, 1, 2, 1_5000))
        #expect(csv("\r") == .skip)
        #expect(csv("type,client,tx,amount\r") == .skip)
    }

    @Test func headerInAnySpacingOrCaseIsSkipped() {
        for h in ["type,client,tx,amount", "TYPE,CLIENT,TX,AMOUNT", " Type , Client , TX , Amount ",
                  "\ttype\t,\tclient\t,\ttx\t,\tamount\t", "Type,Client,Tx,Amount\r"] {
            #expect(csv(h) == .skip, "\(h.debugDescription)")
            #expect(line(h) == .skip, "\(h.debugDescription)")
        }
        // Not the header: a misspelt or reordered one is a malformed line.
        #expect(csv("type,client,tx,amounts").isMalformed)
        #expect(csv("type,tx,client,amount").isMalformed)
        #expect(csv("types,client,tx,amount").isMalformed)
    }

    @Test func blankLinesAreSkipped() {
        for b in ["", " ", "   ", "\t", " \t ", "\r", " \r"] { #expect(csv(b) == .skip, "\(b.debugDescription)") }
    }

    @Test func amountMayBeAbsentEmptyOrAnythingOnDisputeResolveChargeback() {
        for kind in [TransactionKind.dispute, .resolve, .chargeback] {
            let w = kind.name
            #expect(csv("\(w),5,6") == tx(kind, 5, 6))
            #expect(csv("\(w),5,6,") == tx(kind, 5, 6))
            #expect(csv("\(w),5,6,   ") == tx(kind, 5, 6))
            #expect(csv("\(w),5,6,0.0") == tx(kind, 5, 6))
            #expect(csv("\(w),5,6,99.0") == tx(kind, 5, 6), "the amount is ignored")
        }
    }

    @Test func depositAndWithdrawalNeedAnAmount() {
        for kind in ["deposit", "withdrawal"] {
            #expect(csv("\(kind),1,2") == .malformed(.missingAmount))
            #expect(csv("\(kind),1,2,") == .malformed(.missingAmount))
            #expect(csv("\(kind),1,2,  \t ") == .malformed(.missingAmount))
            #expect(csv("\(kind),1,2,\r") == .malformed(.missingAmount))
        }
    }

    @Test func depositAndWithdrawalAmountMustBeAboveZero() {
        for a in ["0", "0.0", "0.0000", "000", ".0", "0."] {
            #expect(csv("deposit,1,2,\(a)") == .malformed(.nonPositiveAmount), "\(a)")
            #expect(csv("withdrawal,1,2,\(a)") == .malformed(.nonPositiveAmount), "\(a)")
        }
        #expect(csv("deposit,1,2,0.0001") == tx(.deposit, 1, 2, 1))
    }

    @Test func badAmountsSayWhy() {
        #expect(csv("deposit,1,2,-1") == .malformed(.badAmount(.sign)))
        #expect(csv("deposit,1,2,+1") == .malformed(.badAmount(.sign)))
        #expect(csv("deposit,1,2,1e3") == .malformed(.badAmount(.exponent)))
        #expect(csv("deposit,1,2,1.00001") == .malformed(.badAmount(.tooManyFractionDigits)))
        #expect(csv("deposit,1,2,.") == .malformed(.badAmount(.noDigits)))
        #expect(csv("deposit,1,2,922337203685477.5808") == .malformed(.badAmount(.tooLarge)))
        #expect(csv("deposit,1,2,1 5") == .malformed(.badAmount(.invalidCharacter)))
        #expect(csv("withdrawal,1,2,abc") == .malformed(.badAmount(.invalidCharacter)))
    }

    @Test func tooManyFields() {
        #expect(csv("deposit,1,2,3,4") == .malformed(.tooManyFields))
        #expect(csv("deposit,1,2,3,") == .malformed(.tooManyFields))
        #expect(csv("dispute,1,2,,") == .malformed(.tooManyFields))
        #expect(csv("type,client,tx,amount,extra") == .malformed(.tooManyFields))
    }

    @Test func missingFields() {
        #expect(csv("deposit") == .malformed(.missingField(.client)))
        #expect(csv("deposit,1") == .malformed(.missingField(.tx)))
        #expect(csv("deposit,,8,1") == .malformed(.missingField(.client)))
        #expect(csv("deposit, ,8,1") == .malformed(.missingField(.client)))
        #expect(csv("deposit,1,,1") == .malformed(.missingField(.tx)))
        #expect(csv("dispute,1,") == .malformed(.missingField(.tx)))
    }

    @Test func clientMustBeAnIntegerInRange() {
        #expect(csv("deposit,65535,1,1") == tx(.deposit, 65535, 1, 1_0000))
        #expect(csv("deposit,0,1,1") == tx(.deposit, 0, 1, 1_0000))
        #expect(csv("deposit,007,1,1") == tx(.deposit, 7, 1, 1_0000))
        for bad in ["65536", "70000", "99999999999999999999999", "-1", "+1", "1.0", "1e2", "a", "1 2", "0x1", "١"] {
            #expect(csv("deposit,\(bad),1,1") == .malformed(.badField(.client)), "\(bad)")
        }
    }

    @Test func txMustBeAnIntegerInRange() {
        #expect(csv("deposit,1,4294967295,1") == tx(.deposit, 1, 4_294_967_295, 1_0000))
        #expect(csv("deposit,1,0,1") == tx(.deposit, 1, 0, 1_0000))
        for bad in ["4294967296", "18446744073709551616", "-1", "+5", "5.0", "five", "1 2"] {
            #expect(csv("deposit,1,\(bad),1") == .malformed(.badField(.tx)), "\(bad)")
            #expect(csv("dispute,1,\(bad)") == .malformed(.badField(.tx)), "\(bad)")
        }
    }

    @Test func unknownTypes() {
        for bad in ["transfer,1,5,1", "withdraw,1,7,1", "deposits,1,2,1", "de posit,1,2,1", "refund,1,2",
                    "1,2,3,4", ",1,2,3", "x", "deposit;1;2;3"] {
            #expect(csv(bad) == .malformed(.unknownType), "\(bad)")
        }
    }

    @Test func transactionLineSendsCSVToTheCSVReader() {
        #expect(line("deposit,1,2,1.5") == tx(.deposit, 1, 2, 1_5000))
        #expect(line("  deposit , 1 , 2 , 1.5\r") == tx(.deposit, 1, 2, 1_5000))
        #expect(line("") == .skip)
        #expect(line("deposit,1,2,{") == .malformed(.badAmount(.invalidCharacter)))
    }
}

@Suite struct ParseErrorMessageTests {
    @Test func everyErrorHasItsOwnMessage() {
        let errors: [ParseError] = [
            .unknownType, .missingField(.client), .missingField(.tx), .missingField(.type), .badField(.client),
            .badField(.tx), .tooManyFields, .badAmount(.sign), .badAmount(.exponent), .missingAmount,
            .nonPositiveAmount, .lineTooLong, .badJSON(.trailingCharacters), .badJSON(.duplicateKey),
        ]
        #expect(Set(errors.map(\.message)).count == errors.count)
        #expect(errors.allSatisfy { !$0.message.isEmpty && !$0.message.contains("\n") })
        #expect(ParseError.lineTooLong.message == "line too long")
        #expect(ParseError.badAmount(.sign).message.contains("amount"))
    }
}
