// payments-bench: writes the benchmark stream of issue 2, a mixed CSV stream over all 65 536
// clients, to a file (default 10 million lines). `Benchmarks/batch.sh` times `payments` on it.
//
//   swift run -c release payments-bench OUT.csv [LINES] [SEED]
import PaymentsFormat
import PaymentsPlatform
import PaymentsTestSupport


let args = CommandLine.arguments
guard args.count >= 2 else {
    var err = BufferedOutput(.standardError)
    try? err.write("usage: payments-bench OUT.csv [LINES] [SEED]\n")
    try? err.flush()
    Environment.exit(2)
}
let lines = args.count > 2 ? Int(args[2]) ?? 10_000_000 : 10_000_000

/// Writes the stream: ids of deposits and withdrawals run upwards; disputes pick any earlier
/// deposit of its own client; resolves and chargebacks settle open disputes.
struct Generator {
    var rng: SplitMix64
    var out: BufferedOutput
    var deposits: [(tx: UInt32, client: UInt16)] = []
    var disputed: [(tx: UInt32, client: UInt16)] = []
    var nextTx: UInt32 = 1

    mutating func amount(_ maxWhole: UInt64) {
        let units = 1 + rng.below(maxWhole * 10_000)
        AmountText.append(.init(units: Int64(units)), to: &out.bytes)
    }

    mutating func line(_ kind: String, _ client: UInt16, _ tx: UInt32) {
        out.bytes.append(contentsOf: kind.utf8)
        out.bytes.append(UInt8(ascii: ","))
        AmountText.appendDecimal(UInt64(client), to: &out.bytes)
        out.bytes.append(UInt8(ascii: ","))
        AmountText.appendDecimal(UInt64(tx), to: &out.bytes)
        out.bytes.append(UInt8(ascii: ","))
    }

    /// 60 % deposits, 25 % withdrawals, 8 % disputes, 6.9 % resolves, 0.1 % chargebacks
    /// (chargebacks lock accounts for good, so real streams have few of them).
    mutating func next() {
        let roll = rng.below(1000)
        if roll < 600 || deposits.isEmpty {
            let client = UInt16(truncatingIfNeeded: rng.next())
            line("deposit", client, nextTx)
            amount(1000)
            deposits.append((nextTx, client))
            nextTx += 1
        } else if roll < 850 {
            line("withdrawal", UInt16(truncatingIfNeeded: rng.next()), nextTx)
            amount(50)
            nextTx += 1
        } else if roll < 930 {
            let d = deposits[Int(rng.below(UInt64(deposits.count)))]
            line("dispute", d.client, d.tx)
            disputed.append(d)
        } else if !disputed.isEmpty {
            let i = Int(rng.below(UInt64(disputed.count)))
            let d = disputed[i]
            disputed.swapAt(i, disputed.count - 1)
            disputed.removeLast()
            line(roll < 999 ? "resolve" : "chargeback", d.client, d.tx)
        } else {
            line("resolve", UInt16(truncatingIfNeeded: rng.next()), UInt32(truncatingIfNeeded: rng.next()))
        }
        out.bytes.append(UInt8(ascii: "\n"))
    }
}

func generate() throws(SystemError) {
    let fd = try FileDescriptor.openForWriting(args[1])
    var g = Generator(rng: SplitMix64(seed: args.count > 3 ? UInt64(args[3]) ?? 1 : 1),
                      out: BufferedOutput(fd, flushBytes: 1 << 20))
    g.out.bytes.append(contentsOf: "type,client,tx,amount\n".utf8)
    for _ in 0..<lines {
        g.next()
        try g.out.flushIfFull()
    }
    try g.out.flush()
    try fd.close()
}

do { try generate() } catch {
    var err = BufferedOutput(.standardError)
    try? err.write("payments-bench: \(error)\n")
    try? err.flush()
    Environment.exit(1)
}
