import Glibc

/// A joinable pthread running one closure. Used for work that must not block the event loop
/// (the journal's `fdatasync`), where a plain thread is simpler than any executor.
public final class PosixThread: @unchecked Sendable {
    private var handle = pthread_t()
    private var joined = false

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread. The corresponding C function is `pthread_create`.
    public init(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&handle, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemError(call: "pthread_create", errno: rc)
        }
    }

    /// Waits for the thread to finish; a second call does nothing. The C function is `pthread_join`.
    public func join() {
        if joined { return }
        joined = true
        pthread_join(handle, nil)
    }
}
