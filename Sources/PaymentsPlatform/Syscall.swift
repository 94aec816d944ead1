import Glibc

/// The one funnel every system call goes through: retries `EINTR`, and turns a `-1` result into
/// a `SystemError` that names the call. Nothing else in the package calls Glibc's I/O directly.
///
/// `close` must not go through here: on Linux the descriptor is released even when `close` fails
/// with `EINTR`, so a retry could close a descriptor another thread just opened.
@inline(__always)
public func syscall<T: FixedWidthInteger>(
    _ name: StaticString, _ subject: String? = nil, _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(call: "\(name)", subject: subject, errno: code)
    }
}
