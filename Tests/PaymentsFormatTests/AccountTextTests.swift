import PaymentsCore
import PaymentsFormat
import Testing

@Suite struct AccountTextTests {
    func acct(_ c: ClientID, _ available: Int64, _ held: Int64, _ locked: Bool = false) -> Account {
        Account(client: c, available: Amount(units: available), held: Amount(units: held), locked: locked)
    }

    func csvRow(_ a: Account) -> String {
        var out: [UInt8] = []
        AccountText.appendCSVRow(a, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func jsonRow(_ a: Account) -> String {
        var out: [UInt8] = []
        AccountText.appendJSON(a, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func csvRows() {
        #expect(AccountText.csvHeader == "client,available,held,total,locked")
        #expect(csvRow(acct(1, 1_5000, 0)) == "1,1.5000,0.0000,1.5000,false\n")
        #expect(csvRow(acct(7, -8_0000, 10_0000, true)) == "7,-8.0000,10.0000,2.0000,true\n")
        #expect(csvRow(acct(0, 0, 0)) == "0,0.0000,0.0000,0.0000,false\n")
        #expect(csvRow(acct(65535, 1, 2, true)) == "65535,0.0001,0.0002,0.0003,true\n")
        #expect(csvRow(acct(300, -2500, 0, true)) == "300,-0.2500,0.0000,-0.2500,true\n")
        #expect(csvRow(acct(2, Int64.max - 5, 5)) == "2,922337203685477.5802,0.0005,922337203685477.5807,false\n")
    }

    @Test func jsonObjects() {
        #expect(jsonRow(acct(1, 1_5000, 0))
            == #"{"client":1,"available":"1.5000","held":"0.0000","total":"1.5000","locked":false}"# + "\n")
        #expect(jsonRow(acct(65535, -8_0000, 10_0000, true))
            == #"{"client":65535,"available":"-8.0000","held":"10.0000","total":"2.0000","locked":true}"# + "\n")
        #expect(jsonRow(acct(0, 0, 0))
            == #"{"client":0,"available":"0.0000","held":"0.0000","total":"0.0000","locked":false}"# + "\n")
    }

    @Test func appendAllWritesHeaderAndClientOrder() {
        let ledger = Ledger()
        for (c, id, units) in [(300, 1, 1_0000), (2, 2, 2_5000), (65535, 3, 1), (0, 4, 10_0000)] as [(ClientID, UInt32, Int64)] {
            _ = ledger.apply(Transaction(kind: .deposit, client: c, tx: id, amount: Amount(units: units)))
        }
        _ = ledger.apply(Transaction(kind: .withdrawal, client: 0, tx: 5, amount: Amount(units: 2_5000)))
        _ = ledger.apply(Transaction(kind: .dispute, client: 2, tx: 2))
        var out: [UInt8] = []
        AccountText.appendAll(ledger, json: false, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == """
            client,available,held,total,locked
            0,7.5000,0.0000,7.5000,false
            2,0.0000,2.5000,2.5000,false
            300,1.0000,0.0000,1.0000,false
            65535,0.0001,0.0000,0.0001,false

            """)
        out.removeAll()
        AccountText.appendAll(ledger, json: true, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == """
            {"client":0,"available":"7.5000","held":"0.0000","total":"7.5000","locked":false}
            {"client":2,"available":"0.0000","held":"2.5000","total":"2.5000","locked":false}
            {"client":300,"available":"1.0000","held":"0.0000","total":"1.0000","locked":false}
            {"client":65535,"available":"0.0001","held":"0.0000","total":"0.0001","locked":false}

            """)
    }

    @Test func emptyLedger() {
        var out: [UInt8] = []
        AccountText.appendAll(Ledger(), json: false, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "client,available,held,total,locked\n")
        out.removeAll()
        AccountText.appendAll(Ledger(), json: true, to: &out)
        #expect(out.isEmpty)
    }
}
