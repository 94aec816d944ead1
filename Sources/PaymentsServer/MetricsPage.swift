/// `GET /metrics` in the Prometheus text format: transactions by outcome, accounts, open
/// connections by protocol, journal bytes, syncs and their latency, snapshots, uptime, and
/// the standard `process_*` metrics.
enum MetricsPage {
    static func render(_ service: DaemonService) -> [UInt8] {
        service.observeSyncDurations()
        let durable = service.durable
        let engine = durable.engine
        var page = PrometheusText()
        page.family("payments_transactions_total", type: .counter, help: "Input lines by outcome since the state began (malformed: since start).")
        page.sample("payments_transactions_total", labels: [("outcome", "applied")], value: engine.applied)
        page.sample("payments_transactions_total", labels: [("outcome", "rejected")], value: engine.rejected)
        page.sample("payments_transactions_total", labels: [("outcome", "malformed")], value: durable.malformed)
        page.gauge("payments_accounts", help: "Accounts in the ledger.", value: engine.ledger.accountCount)
        page.gauge("payments_transaction_ids", help: "Deposit and withdrawal ids consumed.", value: engine.ledger.transactions.count)
        page.family("payments_connections", type: .gauge, help: "Open connections by protocol.")
        for name in ["line", "http"] {
            page.sample("payments_connections", labels: [("protocol", name)], value: service.loop.connectionCount(protocolName: name))
        }
        page.counter("payments_connections_refused_total", help: "Connections refused at the connection limit.", value: service.loop.rejectedConnectionCount)
        if service.tokens != nil {
            page.family("payments_auth_failures_total", type: .counter, help: "Requests refused for a missing or wrong token (required, failed) or a role that may not (forbidden), by listener.")
            // Every listener with tokens from the start, at 0: a rate over a series that appears
            // only with the first failure misses that failure.
            let listeners = Set(service.loop.listeners.filter(\.requiresAuth).map(\.displayName)).union(service.authFailures.keys)
            for listener in listeners.sorted() {
                for reason in AuthFailure.allCases {
                    page.sample(
                        "payments_auth_failures_total", labels: [("listener", listener), ("reason", reason.rawValue)],
                        value: service.authFailures[listener]?[reason] ?? 0)
                }
            }
        }
        if service.tls != nil {
            page.counter("payments_tls_handshake_failures_total", help: "TLS handshakes that failed (plain text on a TLS port, a certificate refused).", value: service.loop.tlsHandshakeFailures)
            page.counter("payments_tls_handshake_timeouts_total", help: "TLS handshakes dropped for not finishing in time.", value: service.loop.tlsHandshakeTimeouts)
        }
        page.gauge("payments_journal_available", help: "1 while the journal takes writes, 0 while the disk is full.", value: service.journalAvailable ? 1 : 0)
        page.gauge("payments_journal_bytes", help: "Bytes in the journal's segment files.", value: durable.journal.journalBytes)
        page.gauge("payments_journal_last_record", help: "Sequence number of the last journaled record.", value: Int(durable.lastLSN))
        page.gauge("payments_journal_durable_record", help: "Sequence number of the last record on stable storage.", value: Int(durable.committer.durableLSN))
        page.counter("payments_journal_syncs_total", help: "fdatasync calls made by the group committer.", value: durable.committer.syncCount)
        page.histogram("payments_journal_sync_seconds", help: "Latency of journal syncs.", service.syncLatency)
        page.gauge("payments_stream_followers", help: "Connections following the change stream (FOLLOW, GET /events).", value: service.stream.followerCount)
        page.counter("payments_stream_lines_total", help: "Change stream lines sent since start (records and snapshot accounts).", value: service.stream.linesStreamed)
        page.counter("payments_snapshots_total", help: "Snapshots written since start.", value: UInt64(durable.snapshots))
        if let status = durable.replica?.replicaStatus {
            page.gauge("payments_replica_leader", help: "1 on the leader of the ledger, 0 on a standby.", value: status.role == .leader ? 1 : 0)
            page.gauge("payments_replica_writable", help: "1 while this daemon takes writes (leader holding its lease).", value: service.writeRefusal == nil ? 1 : 0)
            page.gauge("payments_replica_epoch", help: "The ledger's ownership epoch as this daemon last saw it.", value: Int(status.epoch))
            page.gauge("payments_replica_applied_record", help: "Sequence number of the last record applied to this daemon's state.", value: Int(status.appliedLSN))
            page.gauge("payments_replica_lag_records", help: "Records committed in the store and not yet applied here.", value: Int(status.storeLSN > status.appliedLSN ? status.storeLSN - status.appliedLSN : 0))
        }
        page.gauge("payments_uptime_seconds", help: "Seconds since the daemon started.", value: Int(service.uptimeSeconds))
        ProcessMetrics.append(to: &page)
        return page.bytes
    }
}
