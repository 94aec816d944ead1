import Glibc

/// The process environment, read and changed through one place.
public enum Environment {
    /// The value of `name`, or nil when unset. The corresponding C function is `getenv`.
    public static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// Removes `name`. The corresponding C function is `unsetenv`.
    public static func unset(_ name: String) { _ = unsetenv(name) }

    /// Sets `name` (tests use it to fake what systemd passes). The C function is `setenv`.
    public static func set(_ name: String, _ value: String) { _ = setenv(name, value, 1) }

    /// This process's id. The corresponding C function is `getpid`.
    public static var processID: Int32 { getpid() }

    /// This machine's name ("" if it cannot be read). The corresponding C function is `gethostname`.
    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
