import PaymentsPostgres

/// The tables in schema `payments` and every statement the journal sends. One row per
/// group-commit batch holds the same length + CRC-32C framed records as a local segment, so
/// damage inside PostgreSQL is caught as it is in files.
enum LedgerSchema {
    /// The format this build reads and writes; a database with a newer one is refused.
    /// Version 2: transaction records carry their outcome and the account after them
    /// (`TransactionRecord` version 2, for the change stream); version 1 records are still read.
    /// A daemon of this build raises the stored version to 2 at start, so older builds refuse it.
    static let formatVersion: Int64 = 2

    /// Created under an advisory lock so that two daemons starting at once do not race on the DDL.
    /// `records` and `data` are stored EXTERNAL: they are checksummed frames that do not compress,
    /// so TOAST would spend CPU for nothing.
    static let create = """
        CREATE SCHEMA IF NOT EXISTS payments;
        CREATE TABLE IF NOT EXISTS payments.format (version bigint NOT NULL);
        INSERT INTO payments.format SELECT 2 WHERE NOT EXISTS (SELECT 1 FROM payments.format);
        CREATE TABLE IF NOT EXISTS payments.ledgers (
            name text PRIMARY KEY,
            epoch bigint NOT NULL,
            leader text NOT NULL,
            lease_until timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS payments.batches (
            ledger text NOT NULL,
            first_lsn bigint NOT NULL,
            last_lsn bigint NOT NULL,
            epoch bigint NOT NULL,
            records bytea NOT NULL,
            PRIMARY KEY (ledger, first_lsn));
        ALTER TABLE payments.batches ALTER COLUMN records SET STORAGE EXTERNAL;
        CREATE TABLE IF NOT EXISTS payments.snapshots (
            ledger text NOT NULL,
            lsn bigint NOT NULL,
            size bigint NOT NULL,
            crc bigint NOT NULL,
            chunks integer NOT NULL,
            PRIMARY KEY (ledger, lsn));
        CREATE TABLE IF NOT EXISTS payments.snapshot_chunks (
            ledger text NOT NULL,
            lsn bigint NOT NULL,
            chunk integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (ledger, lsn, chunk));
        ALTER TABLE payments.snapshot_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
        """

    static let lockForCreate = "SELECT pg_advisory_xact_lock(7300738)"
    static let schemaExists = "SELECT count(*) FROM pg_namespace WHERE nspname = 'payments'"
    static let readFormat = "SELECT max(version) FROM payments.format"
    static let raiseFormat = "INSERT INTO payments.format SELECT 2 WHERE NOT EXISTS (SELECT 1 FROM payments.format WHERE version >= 2)"

    /// The leader's commit: the batch goes in only if this daemon's epoch still owns the ledger,
    /// and the same statement renews the lease on PostgreSQL's clock. The UPDATE takes the
    /// ledger row's lock, so a claim waits for this commit, and a commit after a claim finds
    /// the epoch changed and inserts nothing.
    /// $1 ledger, $2 epoch, $3 first LSN, $4 last LSN, $5 lease ms, $6 records.
    static let commitBatch = """
        WITH owner AS (
            UPDATE payments.ledgers SET lease_until = clock_timestamp() + $5::bigint * interval '1 millisecond'
            WHERE name = $1 AND epoch = $2 RETURNING name)
        INSERT INTO payments.batches (ledger, first_lsn, last_lsn, epoch, records)
        SELECT $1, $3, $4, $2, $6 FROM owner
        """

    /// $1 ledger, $2 epoch, $3 lease ms. One row updated while the epoch is ours.
    static let renewLease = """
        UPDATE payments.ledgers SET lease_until = clock_timestamp() + $3::bigint * interval '1 millisecond'
        WHERE name = $1 AND epoch = $2
        """

    /// Raises the epoch when the lease has run out on PostgreSQL's clock (or creates the row).
    /// $1 ledger, $2 node, $3 lease ms. Returns the new epoch when the claim won.
    static let claim = """
        INSERT INTO payments.ledgers AS l (name, epoch, leader, lease_until)
        VALUES ($1, 1, $2, clock_timestamp() + $3::bigint * interval '1 millisecond')
        ON CONFLICT (name) DO UPDATE
            SET epoch = l.epoch + 1, leader = EXCLUDED.leader, lease_until = EXCLUDED.lease_until
            WHERE l.lease_until < clock_timestamp()
        RETURNING epoch
        """

    /// $1 ledger: epoch, leader, whether the lease ran out, the last committed LSN, and the
    /// first LSN of the oldest row kept (null when there is none).
    static let ledgerState = """
        SELECT l.epoch, l.leader, l.lease_until < clock_timestamp(),
               (SELECT coalesce(max(last_lsn), 0) FROM payments.batches WHERE ledger = $1),
               (SELECT min(first_lsn) FROM payments.batches WHERE ledger = $1)
        FROM payments.ledgers l WHERE l.name = $1
        """

    /// $1 ledger, $2 LSN, $3 limit: the batches holding records after LSN $2, in order.
    static let batchesAfter = """
        SELECT first_lsn, last_lsn, epoch, records FROM payments.batches
        WHERE ledger = $1 AND last_lsn > $2 ORDER BY first_lsn LIMIT $3
        """

    /// $1 ledger, $2 first LSN: did this batch commit (and under which epoch)?
    static let batchAt = "SELECT last_lsn, epoch FROM payments.batches WHERE ledger = $1 AND first_lsn = $2"

    static let oldestLSN = "SELECT min(first_lsn) FROM payments.batches WHERE ledger = $1"
    static let lastLSN = "SELECT coalesce(max(last_lsn), 0) FROM payments.batches WHERE ledger = $1"

    /// $1 ledger: the complete snapshots, newest first.
    static let snapshots = "SELECT lsn, size, crc, chunks FROM payments.snapshots WHERE ledger = $1 ORDER BY lsn DESC"
    static let snapshotChunks = "SELECT chunk, data FROM payments.snapshot_chunks WHERE ledger = $1 AND lsn = $2 ORDER BY chunk"
    static let insertChunk = """
        INSERT INTO payments.snapshot_chunks (ledger, lsn, chunk, data) VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING
        """
    /// The header row goes in last, in the same transaction: a snapshot is there whole or not at all.
    static let insertSnapshot = """
        INSERT INTO payments.snapshots (ledger, lsn, size, crc, chunks) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT DO NOTHING
        """
    /// $1 ledger, $2 the second-newest snapshot's LSN: what no restart can need any more.
    static let deleteCoveredBatches = "DELETE FROM payments.batches WHERE ledger = $1 AND last_lsn <= $2"
    static let deleteOldSnapshots = "DELETE FROM payments.snapshots WHERE ledger = $1 AND lsn < $2"
    static let deleteOldChunks = "DELETE FROM payments.snapshot_chunks WHERE ledger = $1 AND lsn < $2"

    static let durabilitySettings = "SELECT current_setting('synchronous_commit'), current_setting('synchronous_standby_names')"

    /// Per session: a stopped leader never holds a lock past this, so it cannot block a takeover.
    static let sessionSettings = "SET idle_in_transaction_session_timeout = '5s'; SET statement_timeout = '30s'"
}
