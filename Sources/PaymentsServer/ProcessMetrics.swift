import PaymentsPlatform

/// The standard process metrics every Prometheus client library exports and dashboards expect
/// (`process_start_time_seconds`, `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_open_fds`, `process_max_fds`), read from `/proc/self` on each scrape. A file that
/// cannot be read leaves its metric out; it never fails the page. `/proc/self` stays readable
/// under the unit's `ProtectProc=invisible` and `ProcSubset=pid`.
public enum ProcessMetrics {
    /// The wall clock when the process began: read once, by `paymentsd`'s first statement
    /// (`/proc/stat`'s boot time, which would date `/proc/self/stat`'s start, is hidden by
    /// `ProcSubset=pid`).
    public static let startWallClock = WallClock.now()

    /// `/proc` counts CPU time in clock ticks of `USER_HZ`, 100 on Linux x86_64 and arm64
    /// (the value Prometheus's own procfs reader assumes).
    static let ticksPerSecond: UInt64 = 100

    /// Appends the five families to `page`.
    static func append(to page: inout PrometheusText) {
        let start = startWallClock
        page.family("process_start_time_seconds", type: .gauge, help: "Start time of the process since unix epoch in seconds.")
        page.sample(
            "process_start_time_seconds",
            nanosecondsAsSeconds: UInt64(max(0, start.seconds)) * 1_000_000_000 + UInt64(start.microseconds) * 1000)
        if let ticks = cpuTicks() {
            page.family("process_cpu_seconds_total", type: .counter, help: "Total user and system CPU time spent in seconds.")
            page.sample("process_cpu_seconds_total", nanosecondsAsSeconds: ticks * (1_000_000_000 / ticksPerSecond))
        }
        if let bytes = residentBytes() {
            page.gauge("process_resident_memory_bytes", help: "Resident memory size in bytes.", value: bytes)
        }
        if let open = try? FileSystem.listDirectory("/proc/self/fd") {
            page.gauge("process_open_fds", help: "Number of open file descriptors.", value: open.count)
        }
        if let max = maxOpenFiles() {
            page.gauge("process_max_fds", help: "Maximum number of open file descriptors.", value: max)
        }
    }

    /// utime + stime, fields 14 and 15 of `/proc/self/stat`, counted after the `)` that ends
    /// the command name (which may itself hold spaces and parentheses).
    static func cpuTicks() -> UInt64? {
        guard let stat = readSmallFile("/proc/self/stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state): field N is fields[N - 3].
        guard fields.count > 12, let user = UInt64(ascii: fields[11]), let system = UInt64(ascii: fields[12]) else { return nil }
        return user + system
    }

    /// `VmRSS:` of `/proc/self/status`, in kB (1024 bytes).
    static func residentBytes() -> Int? {
        guard let status = readSmallFile("/proc/self/status") else { return nil }
        guard let value = field(named: "VmRSS:", in: status) else { return nil }
        return Int(exactly: value).map { $0 * 1024 }
    }

    /// The soft limit on the `Max open files` line of `/proc/self/limits`.
    static func maxOpenFiles() -> Int? {
        guard let limits = readSmallFile("/proc/self/limits") else { return nil }
        for line in limits.split(separator: UInt8(ascii: "\n")) where line.starts(with: "Max open files".utf8) {
            let words = line.split(separator: UInt8(ascii: " "))
            return words.count > 3 ? UInt64(ascii: words[3]).map { Int($0) } : nil
        }
        return nil
    }

    /// The first word after `name` on the line that starts with it.
    static func field(named name: String, in text: [UInt8]) -> UInt64? {
        for line in text.split(separator: UInt8(ascii: "\n")) where line.starts(with: name.utf8) {
            let words = line.dropFirst(name.utf8.count).split { $0 == 0x20 || $0 == 0x09 }
            return words.first.flatMap { UInt64(ascii: $0) }
        }
        return nil
    }

    /// A `/proc` file whole (they report a size of 0, so read until the end), at most 64 KiB.
    static func readSmallFile(_ path: String) -> [UInt8]? {
        guard let fd = try? FileDescriptor.open(path, OpenFlags.readOnly) else { return nil }
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 64 << 10 {
            let n = chunk.withUnsafeMutableBytes { raw in (try? fd.read(into: raw)) ?? -1 }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return bytes
    }
}

extension UInt64 {
    /// Plain decimal digits, nothing else.
    init?(ascii digits: some Collection<UInt8>) {
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value: UInt64 = 0
        for d in digits {
            guard d >= 0x30 && d <= 0x39 else { return nil }
            value = value * 10 + UInt64(d - 0x30)
        }
        self = value
    }
}
