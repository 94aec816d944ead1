// swift-tools-version:6.0
// The payments engine: one package, three programs over one engine.
// Layers, in dependency order (each a target):
//   PaymentsCore      amounts, accounts, the ledger and its outcome codes (stdlib only, no I/O)
//   PaymentsFormat    CSV/JSON line parsing and rendering of accounts and replies (pure bytes)
//   CPaymentsLinux    a few lines of C that reach <sys/epoll.h> and friends
//   PaymentsPlatform  the only module that calls Glibc: Errno, the syscall funnel, files, sockets, epoll
//   PaymentsJournal   segments, records, CRC-32C, group commit, snapshots, recovery
//   CLibPQ            the system's libpq (PostgreSQL's client library), reached through a module map
//   PaymentsPostgres  the only module that calls libpq: one connection type, pipeline mode, typed errors
//   CPaymentsTLS      the system's OpenSSL 3, and a few lines of C for what OpenSSL offers only as macros
//   PaymentsTLS       the only module that calls OpenSSL: SHA-256, TLS contexts, non-blocking TLS sessions
//   PaymentsReplication  the journal on PostgreSQL: batches, snapshots, ledger ownership (epoch, lease)
//   PaymentsServer    event loop, listeners, connections, line protocol, HTTP, tokens, TLS, change stream, systemd glue
//   PaymentsRedis     our small RESP client (for paymentsctl mirror)
//   PaymentsFollow    the change stream's client side: line reader, LSN file, mirror batches
//   payments / paymentsd / paymentsctl   thin mains
import PackageDescription

let package = Package(
    name: "payments",
    targets: [
        .target(name: "PaymentsCore"),
        .target(name: "PaymentsFormat", dependencies: ["PaymentsCore"]),
        .target(name: "CPaymentsLinux"),
        .target(name: "PaymentsPlatform", dependencies: ["CPaymentsLinux"]),
        .target(name: "PaymentsJournal", dependencies: ["PaymentsPlatform", "CPaymentsLinux"], exclude: ["FORMAT.md"]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq"),
        .target(name: "PaymentsPostgres", dependencies: ["CLibPQ"]),
        .target(name: "CPaymentsTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "PaymentsTLS", dependencies: ["CPaymentsTLS", "PaymentsPlatform"]),
        .target(
            name: "PaymentsReplication",
            dependencies: ["PaymentsPostgres", "PaymentsJournal", "PaymentsPlatform"]),
        .target(
            name: "PaymentsServer",
            dependencies: [
                "PaymentsCore", "PaymentsFormat", "PaymentsPlatform", "PaymentsJournal", "PaymentsReplication", "PaymentsTLS",
            ]),
        .executableTarget(
            name: "payments", dependencies: ["PaymentsCore", "PaymentsFormat", "PaymentsPlatform"]),
        .executableTarget(name: "paymentsd", dependencies: ["PaymentsServer", "PaymentsReplication"]),
        .target(name: "PaymentsRedis", dependencies: ["PaymentsPlatform"]),
        .target(name: "PaymentsFollow", dependencies: ["PaymentsRedis", "PaymentsPlatform"]),
        .executableTarget(
            name: "paymentsctl", dependencies: ["PaymentsFormat", "PaymentsPlatform", "PaymentsTLS", "PaymentsRedis", "PaymentsFollow"]),
        .executableTarget(
            name: "payments-bench", dependencies: ["PaymentsCore", "PaymentsFormat", "PaymentsPlatform", "PaymentsTestSupport"],
            path: "Benchmarks/payments-bench"),
        .executableTarget(
            name: "pg-bench", dependencies: ["PaymentsPostgres", "PaymentsJournal"], path: "Benchmarks/pg-bench"),
        .executableTarget(
            name: "journal-bench", dependencies: ["PaymentsJournal", "PaymentsPlatform"],
            path: "Benchmarks/journal-bench"),
        // Shared by tests, the crash child and the benchmark stream: a seeded generator.
        .target(name: "PaymentsTestSupport", path: "Tests/PaymentsTestSupport"),
        // The tests' child processes: bounded waits, and none outlives the test process.
        .target(name: "ChildProcessSupport", path: "Tests/ChildProcessSupport"),
        // A test CA, server and client certificates made by the real `openssl` command.
        .target(name: "TLSTestSupport", dependencies: ["ChildProcessSupport"], path: "Tests/TLSTestSupport"),
        .testTarget(
            name: "PaymentsTLSTests",
            dependencies: ["PaymentsTLS", "PaymentsPlatform", "TLSTestSupport", "ChildProcessSupport"]),
        .testTarget(name: "PaymentsCoreTests", dependencies: ["PaymentsCore", "PaymentsTestSupport"]),
        .testTarget(name: "PaymentsFormatTests", dependencies: ["PaymentsFormat", "PaymentsCore", "PaymentsTestSupport"]),
        .testTarget(
            name: "PaymentsJournalTests",
            dependencies: ["PaymentsJournal", "PaymentsPlatform", "journal-crash-child", "ChildProcessSupport"]),
        .executableTarget(
            name: "journal-crash-child", dependencies: ["PaymentsJournal", "PaymentsPlatform", "PaymentsTestSupport"],
            path: "Tests/JournalCrashChild"),
        .testTarget(
            name: "PaymentsFollowTests",
            dependencies: ["PaymentsFollow", "PaymentsRedis", "PaymentsPlatform"]),
        .testTarget(
            name: "PaymentsRedisTests", dependencies: ["PaymentsRedis", "PaymentsPlatform", "ChildProcessSupport"]),
        .testTarget(
            name: "PaymentsServerTests",
            dependencies: ["PaymentsServer", "PaymentsFormat", "PaymentsCore", "PaymentsPlatform"]),
        .testTarget(
            name: "ReplicationTests",
            dependencies: [
                "PaymentsPostgres", "PaymentsReplication", "PaymentsJournal", "paymentsd", "paymentsctl",
                "PaymentsTestSupport", "PaymentsPlatform", "PaymentsCore", "PaymentsFormat", "ChildProcessSupport",
            ]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "payments", "paymentsd", "paymentsctl", "PaymentsPlatform", "PaymentsCore", "PaymentsFormat",
                "PaymentsTestSupport", "ChildProcessSupport", "TLSTestSupport", "PaymentsTLS", "PaymentsRedis",
                "PaymentsFollow",
            ]),
    ]
)
