import PaymentsCore
import PaymentsFormat
import Testing

@Suite struct JSONLineTests {
    @Test func canonicalObject() {
        #expect(json(#"{"type":"deposit","client":1,"tx":7,"amount":"2.5"}"#) == tx(.deposit, 1, 7, 2_5000))
        #expect(json(#"{"type":"withdrawal","client":65535,"tx":4294967295,"amount":"0.0001"}"#)
            == tx(.withdrawal, 65535, 4_294_967_295, 1))
    }

    @Test func keysInAnyOrderAndWhitespaceAnywhere() {
        let expected = tx(.deposit, 3, 9, 1_2500)
        #expect(json(#"{"amount":"1.25","tx":9,"client":3,"type":"deposit"}"#) == expected)
        #expect(json(#"{"tx":9,"type":"deposit","amount":1.25,"client":3}"#) == expected)
        #expect(json(" { \"type\" : \"deposit\" ,\t\"client\" : 3 , \"tx\" : 9 , \"amount\" : \"1.25\" } ") == expected)
        #expect(json(#"{"type":"deposit","client":3,"tx":9,"amount":"1.25"}"# + "\r") == expected)
    }

    @Test func unknownKeysAreSkippedWhateverTheirValue() {
        let expected = tx(.deposit, 1, 2, 1_2500)
        for extra in [
            #""note":"hello""#, #""n":12.5e3"#, #""n":-1"#, #""ok":true"#, #""ok":false"#, #""x":null"#,
            #""note":{"a":[1,2,{"b":null}],"c":"}"}"#, #""list":[[],[{}],"]",[1,[2,[3]]]]"#,
            #""esc":"a\"b\\c}{""#, #""empty":{}"#, #""e":[]"#, #""Type":"withdrawal""#, #""amounts":"-5""#,
        ] {
            #expect(json(#"{"type":"deposit",\#(extra),"client":1,"tx":2,"amount":"1.25"}"#) == expected, "\(extra)")
            #expect(json(#"{\#(extra),"type":"deposit","client":1,"tx":2,"amount":1.25}"#) == expected, "\(extra)")
        }
    }

    @Test func amountAsStringOrNumberIsParsedExactly() {
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1.25"}"#) == tx(.deposit, 1, 2, 1_2500))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":1.25}"#) == tx(.deposit, 1, 2, 1_2500))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":" 0.75 "}"#) == tx(.deposit, 1, 2, 7500))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":3}"#) == tx(.deposit, 1, 2, 3_0000))
        // A value a Double would round: exact here.
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":922337203685477.5807}"#)
            == tx(.deposit, 1, 2, Int64.max))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"0.1"}"#) == tx(.deposit, 1, 2, 1000))
    }

    @Test func amountRefusedFormsAreTheSameAsInCSV() {
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":1e2}"#) == .malformed(.badAmount(.exponent)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1e2"}"#) == .malformed(.badAmount(.exponent)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":1E+2}"#) == .malformed(.badAmount(.exponent)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":-1}"#) == .malformed(.badAmount(.sign)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"-1"}"#) == .malformed(.badAmount(.sign)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":1.00001}"#) == .malformed(.badAmount(.tooManyFractionDigits)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"0"}"#) == .malformed(.nonPositiveAmount))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":0.0}"#) == .malformed(.nonPositiveAmount))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":""}"#) == .malformed(.missingAmount))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":true}"#) == .malformed(.badJSON(.badValue)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":{}}"#).isMalformed)
    }

    @Test func amountOnDisputeResolveChargebackMayBeNullAbsentOrAnything() {
        for kind in [TransactionKind.dispute, .resolve, .chargeback] {
            let w = kind.name
            #expect(json(#"{"type":"\#(w)","client":1,"tx":2}"#) == tx(kind, 1, 2))
            #expect(json(#"{"type":"\#(w)","client":1,"tx":2,"amount":null}"#) == tx(kind, 1, 2))
            #expect(json(#"{"type":"\#(w)","client":1,"tx":2,"amount":0.0}"#) == tx(kind, 1, 2))
            #expect(json(#"{"type":"\#(w)","client":1,"tx":2,"amount":"0.0"}"#) == tx(kind, 1, 2))
            #expect(json(#"{"type":"\#(w)","client":1,"tx":2,"amount":""}"#) == tx(kind, 1, 2))
        }
    }

    @Test func depositWithoutAmountIsMissingAmount() {
        #expect(json(#"{"type":"deposit","client":1,"tx":4}"#) == .malformed(.missingAmount))
        #expect(json(#"{"type":"deposit","client":1,"tx":4,"amount":null}"#) == .malformed(.missingAmount))
        #expect(json(#"{"type":"withdrawal","client":1,"tx":4}"#) == .malformed(.missingAmount))
    }

    @Test func clientAndTxMustBeJSONIntegersInRange() {
        #expect(json(#"{"type":"deposit","client":"1","tx":1,"amount":"1"}"#) == .malformed(.badField(.client)))
        #expect(json(#"{"type":"deposit","client":1.0,"tx":1,"amount":"1"}"#) == .malformed(.badField(.client)))
        #expect(json(#"{"type":"deposit","client":-1,"tx":1,"amount":"1"}"#) == .malformed(.badField(.client)))
        #expect(json(#"{"type":"deposit","client":65536,"tx":1,"amount":"1"}"#) == .malformed(.badField(.client)))
        #expect(json(#"{"type":"deposit","client":1e2,"tx":1,"amount":"1"}"#) == .malformed(.badField(.client)))
        #expect(json(#"{"type":"deposit","client":null,"tx":1,"amount":"1"}"#) == .malformed(.badField(.client)))
        #expect(json(#"{"type":"deposit","client":true,"tx":1,"amount":"1"}"#) == .malformed(.badField(.client)))
        #expect(json(#"{"type":"deposit","client":1,"tx":"1","amount":"1"}"#) == .malformed(.badField(.tx)))
        #expect(json(#"{"type":"deposit","client":1,"tx":4294967296,"amount":"1"}"#) == .malformed(.badField(.tx)))
        #expect(json(#"{"type":"deposit","client":1,"tx":-0,"amount":"1"}"#) == .malformed(.badField(.tx)))
        #expect(json(#"{"type":"deposit","client":65535,"tx":0,"amount":"1"}"#) == tx(.deposit, 65535, 0, 1_0000))
    }

    @Test func trailingCharactersAfterTheObject() {
        #expect(json(#"{"type":"deposit","client":1,"tx":3,"amount":"1.0"}}"#) == .malformed(.badJSON(.trailingCharacters)))
        #expect(json(#"{"type":"deposit","client":1,"tx":3,"amount":"1.0"} x"#) == .malformed(.badJSON(.trailingCharacters)))
        #expect(json(#"{"type":"deposit","client":1,"tx":3,"amount":"1.0"}{}"#) == .malformed(.badJSON(.trailingCharacters)))
        #expect(json(#"{"type":"deposit","client":1,"tx":3,"amount":"1.0"},"#) == .malformed(.badJSON(.trailingCharacters)))
        #expect(json(#"{"type":"deposit","client":1,"tx":3,"amount":"1.0"}  "# + "\t\r") == tx(.deposit, 1, 3, 1_0000))
    }

    @Test func duplicateKeysAreRefused() {
        #expect(json(#"{"type":"deposit","client":1,"tx":8,"amount":"1","tx":9}"#) == .malformed(.badJSON(.duplicateKey)))
        #expect(json(#"{"type":"deposit","type":"deposit","client":1,"tx":8,"amount":"1"}"#) == .malformed(.badJSON(.duplicateKey)))
        #expect(json(#"{"type":"deposit","client":1,"client":1,"tx":8,"amount":"1"}"#) == .malformed(.badJSON(.duplicateKey)))
        #expect(json(#"{"type":"deposit","client":1,"tx":8,"amount":"1","amount":"2"}"#) == .malformed(.badJSON(.duplicateKey)))
        #expect(json(#"{"type":"dispute","client":1,"tx":8,"amount":null,"amount":null}"#) == .malformed(.badJSON(.duplicateKey)))
    }

    /// A key written with escapes is the same key (JSON semantics): it is read, and counts as a
    /// duplicate, instead of being skipped as unknown while another reader would take its value.
    @Test func escapedKeysAreTheKeysTheySpell() {
        #expect(json(#"{"\u0074ype":"deposit","client":1,"tx":2,"amount":"1"}"#) == tx(.deposit, 1, 2, 1_0000))
        #expect(json(#"{"type":"deposit","cl\u0069ent":1,"t\u0078":2,"\u0061mount":"1"}"#) == tx(.deposit, 1, 2, 1_0000))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1","\u0061mount":"1000"}"#)
            == .malformed(.badJSON(.duplicateKey)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1","\u0074x":3}"#) == .malformed(.badJSON(.duplicateKey)))
        #expect(json(#"{"type":"d\u0065posit","client":1,"tx":2,"amount":"1"}"#) == tx(.deposit, 1, 2, 1_0000))
        #expect(json(#"{"type":"d\u00e9posit","client":1,"tx":2,"amount":"1"}"#) == .malformed(.unknownType))
        // Unknown keys with escapes are still unknown keys, skipped.
        for key in [#"n\u00f6te"#, #"\ud83d\ude00"#, #"a\"b"#, #"\\"#, #"t\nx"#, #"\u0074y"#, #"\u00zz"#, #"\/"#] {
            #expect(json(#"{"\#(key)":5,"type":"deposit","client":1,"tx":2,"amount":"1"}"#) == tx(.deposit, 1, 2, 1_0000), "\(key)")
        }
    }

    @Test func missingFields() {
        #expect(json(#"{}"#) == .malformed(.missingField(.type)))
        #expect(json(#"{ }"#) == .malformed(.missingField(.type)))
        #expect(json(#"{"client":1,"tx":2,"amount":"1"}"#) == .malformed(.missingField(.type)))
        #expect(json(#"{"type":"deposit","tx":2,"amount":"1"}"#) == .malformed(.missingField(.client)))
        #expect(json(#"{"type":"deposit","client":1,"amount":"1"}"#) == .malformed(.missingField(.tx)))
        #expect(json(#"{"type":"dispute","client":1}"#) == .malformed(.missingField(.tx)))
    }

    @Test func unknownTypeAndTypeNotAString() {
        #expect(json(#"{"type":"transfer","client":1,"tx":2,"amount":"1"}"#) == .malformed(.unknownType))
        #expect(json(#"{"type":"","client":1,"tx":2,"amount":"1"}"#) == .malformed(.unknownType))
        #expect(json(#"{"type":5,"client":1,"tx":2,"amount":"1"}"#) == .malformed(.badJSON(.typeNotString)))
        #expect(json(#"{"type":null,"client":1,"tx":2,"amount":"1"}"#) == .malformed(.badJSON(.typeNotString)))
    }

    @Test func truncatedInputIsMalformedNeverATransaction() {
        let full = #"{"type":"deposit","client":1,"tx":2,"amount":"1.5"}"#
        let bytes = Array(full.utf8)
        for cut in 1..<bytes.count {
            let prefix = String(decoding: bytes[0..<cut], as: UTF8.self)
            // Cut inside a value it may also read as a bad field; never as a transaction or a skip.
            #expect(json(prefix).isMalformed, "\(prefix)")
        }
        #expect(json(#"{"type":"deposit","client":1"#) == .malformed(.badJSON(.expectedCommaOrEnd)))
        #expect(json(#"{"type":"dep"#) == .malformed(.badJSON(.unterminatedString)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1.5""#) == .malformed(.badJSON(.expectedCommaOrEnd)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1."#) == .malformed(.badJSON(.unterminatedString)))
        #expect(json(#"{"type""#) == .malformed(.badJSON(.expectedColon)))
        #expect(json("") == .malformed(.badJSON(.expectedObject)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1.5","#).isBadJSON)
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1.5","note":{"a":[1,2"#).isBadJSON)
    }

    @Test func otherBrokenObjects() {
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1.5",}"#).isBadJSON)
        #expect(json(#"{"type":"deposit" "client":1}"#) == .malformed(.badJSON(.expectedCommaOrEnd)))
        #expect(json(#"{type:"deposit"}"#).isBadJSON)
        #expect(json(#"["deposit",1,2,"1.5"]"#) == .malformed(.badJSON(.expectedObject)))
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1.5","x":tru}"#).isBadJSON)
        #expect(json(#"{"type":"deposit","client":1,"tx":2,"amount":"1.5","x":}"#).isBadJSON)
        #expect(json("{\"type\":\"deposit\",\"client\":1,\"tx\":2,\"amount\":\"1\n5\"}").isBadJSON)
    }

    @Test func nestingIsBounded() {
        func withNote(_ value: String) -> ParsedLine { json(#"{"type":"deposit","client":1,"tx":2,"amount":"1","note":\#(value)}"#) }
        let ok = tx(.deposit, 1, 2, 1_0000)
        #expect(withNote(String(repeating: "[", count: 20) + String(repeating: "]", count: 20)) == ok)
        #expect(withNote(String(repeating: "{\"a\":", count: 20) + "1" + String(repeating: "}", count: 20)) == ok)
        #expect(withNote(String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000))
            == .malformed(.badJSON(.nestingTooDeep)))
        #expect(withNote(String(repeating: "[", count: 100_000)) == .malformed(.badJSON(.nestingTooDeep)))
        #expect(withNote(String(repeating: "{\"a\":", count: 200) + "1" + String(repeating: "}", count: 200))
            == .malformed(.badJSON(.nestingTooDeep)))
    }

    @Test func transactionLineDispatchesOnTheFirstNonBlankBrace() {
        let expected = tx(.deposit, 1, 7, 2_5000)
        #expect(line(#"{"type":"deposit","client":1,"tx":7,"amount":"2.5"}"#) == expected)
        #expect(line(#"   {"type":"deposit","client":1,"tx":7,"amount":"2.5"}"#) == expected)
        #expect(line("\t" + #"{"type":"deposit","client":1,"tx":7,"amount":"2.5"}"# + "\r") == expected)
        #expect(line(#"{"type":"dispute","client":1,"tx":1,"amount":0.0}"#) == tx(.dispute, 1, 1))
        // A line starting with `{` is JSON: its errors are JSON errors, never CSV ones.
        #expect(line("{deposit,1,2,3}").isBadJSON)
        #expect(line("{").isBadJSON)
        // A brace that is not first is CSV.
        #expect(line("x{\"type\":\"deposit\"}") == .malformed(.unknownType))
    }
}
