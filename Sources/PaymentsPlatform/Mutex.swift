import Glibc

/// A pthread mutex on the heap (a pthread mutex must not move once initialised).
///
/// pthread calls report failure through their return value, never `errno`; a failure here means
/// a programming error (destroyed or unowned mutex), so it stops the process.
public final class PthreadMutex: @unchecked Sendable {
    fileprivate let raw: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        raw = .allocate(capacity: 1)
        raw.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(raw, nil) == 0, "pthread_mutex_init")
    }

    deinit {
        pthread_mutex_destroy(raw)
        raw.deallocate()
    }

    public func lock() { precondition(pthread_mutex_lock(raw) == 0, "pthread_mutex_lock") }
    public func unlock() { precondition(pthread_mutex_unlock(raw) == 0, "pthread_mutex_unlock") }

    @inline(__always)
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A condition variable that measures timeouts on `CLOCK_MONOTONIC`, so a change of the wall
/// clock never stretches or cuts a wait.
public final class PthreadCondition: @unchecked Sendable {
    private let raw: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        raw = .allocate(capacity: 1)
        raw.initialize(to: pthread_cond_t())
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(raw, &attr) == 0, "pthread_cond_init")
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(raw)
        raw.deallocate()
    }

    public func signal() { pthread_cond_signal(raw) }
    public func broadcast() { pthread_cond_broadcast(raw) }

    /// Waits until signalled (or a spurious wake-up); `mutex` must be held.
    public func wait(_ mutex: PthreadMutex) {
        precondition(pthread_cond_wait(raw, mutex.raw) == 0, "pthread_cond_wait")
    }

    /// Waits until signalled or until the monotonic clock reaches `deadline` nanoseconds.
    public func wait(_ mutex: PthreadMutex, untilMonotonicNanoseconds deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        let rc = pthread_cond_timedwait(raw, mutex.raw, &ts)
        precondition(rc == 0 || rc == ETIMEDOUT, "pthread_cond_timedwait")
    }
}
