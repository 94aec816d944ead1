internal import CLibPQ

/// The rows of one statement's result, copied out of libpq's `PGresult` (which is freed at once,
/// so a result can cross threads and outlive its connection). Values are in PostgreSQL's BINARY
/// format: integers big-endian, text as raw UTF-8, `bytea` as the raw bytes.
public struct PostgresResult: Sendable {
    public let rowCount: Int
    public let columnCount: Int
    /// Rows inserted, updated or deleted (`PQcmdTuples`); 0 for other statements.
    public let affectedRows: Int
    /// Row-major: cell (row, column) is at `row * columnCount + column`; `nil` is SQL `NULL`.
    private let cells: [[UInt8]?]

    init(rowCount: Int, columnCount: Int, affectedRows: Int, cells: [[UInt8]?]) {
        precondition(cells.count == rowCount * columnCount, "result cells do not match its shape")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.affectedRows = affectedRows
        self.cells = cells
    }

    /// Copies everything out of `result`; the caller still owns (and clears) it.
    init(copying result: OpaquePointer) {
        let rows = Int(PQntuples(result))
        let columns = Int(PQnfields(result))
        var cells: [[UInt8]?] = []
        cells.reserveCapacity(rows * columns)
        for row in 0..<Int32(rows) {
            for column in 0..<Int32(columns) {
                if PQgetisnull(result, row, column) != 0 {
                    cells.append(nil)
                    continue
                }
                let length = Int(PQgetlength(result, row, column))
                let value = PQgetvalue(result, row, column)!
                cells.append(value.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) })
            }
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        self.init(rowCount: rows, columnCount: columns, affectedRows: affected, cells: cells)
    }

    public func isNull(_ row: Int, _ column: Int) -> Bool { cell(row, column) == nil }

    /// An `int2`, `int4` or `int8` value (told apart by its length); `nil` if `NULL` or of
    /// another length.
    public func int64(_ row: Int, _ column: Int) -> Int64? {
        cell(row, column).flatMap { PostgresBinary.signedInteger($0[...]) }
    }

    /// A `bool` value (one byte, nonzero is true); `nil` if `NULL`.
    public func bool(_ row: Int, _ column: Int) -> Bool? {
        cell(row, column).flatMap { $0.count == 1 ? $0[0] != 0 : nil }
    }

    /// A `text`/`varchar`/`name` value decoded as UTF-8; `nil` if `NULL`.
    public func text(_ row: Int, _ column: Int) -> String? {
        cell(row, column).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The raw binary value (for `bytea`, its bytes); `nil` if `NULL`.
    public func bytes(_ row: Int, _ column: Int) -> [UInt8]? { cell(row, column) }

    private func cell(_ row: Int, _ column: Int) -> [UInt8]? {
        precondition(row >= 0 && row < rowCount && column >= 0 && column < columnCount,
                     "cell (\(row), \(column)) outside a result of \(rowCount)x\(columnCount)")
        return cells[row * columnCount + column]
    }
}
