// What Glibc's Swift module does not export: epoll, and a safe read of the packed epoll_event.
#ifndef CPAYMENTSLINUX_H
#define CPAYMENTSLINUX_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <stdint.h>

/// `struct epoll_event` is packed on x86_64; read its `data.u64` through C so Swift never takes
/// a misaligned pointer.
static inline uint64_t cpl_epoll_event_data(const struct epoll_event *ev) { return ev->data.u64; }
static inline uint32_t cpl_epoll_event_events(const struct epoll_event *ev) { return ev->events; }
static inline void cpl_epoll_event_set(struct epoll_event *ev, uint32_t events, uint64_t data) {
    ev->events = events;
    ev->data.u64 = data;
}
int cpl_epoll_create(void);
int cpl_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
int cpl_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);

/// `accept4` is a GNU extension that Glibc's Swift module hides; this calls it with the given flags.
/// (`<sys/socket.h>` stays out of this header: including it here would make Swift find socket
/// constants such as `SOCK_DGRAM` in this module instead of Glibc, depending on build order.)
int cpl_accept4(int fd, void *addr, unsigned int *len, int flags);
/// `flock` the function, which Swift confuses with `struct flock`.
int cpl_flock(int fd, int operation);
/// Flag values of <sys/eventfd.h>, <sys/signalfd.h>, <sys/timerfd.h> (enums that Swift sees poorly).
static inline int cpl_efd_nonblock(void) { return EFD_NONBLOCK; }
static inline int cpl_efd_cloexec(void) { return EFD_CLOEXEC; }
static inline int cpl_sfd_nonblock(void) { return SFD_NONBLOCK; }
static inline int cpl_sfd_cloexec(void) { return SFD_CLOEXEC; }
static inline int cpl_tfd_nonblock(void) { return TFD_NONBLOCK; }
static inline int cpl_tfd_cloexec(void) { return TFD_CLOEXEC; }
#include <stddef.h>
/// 1 when the CPU has the SSE4.2 `crc32` instruction (CRC-32C in hardware), else 0.
int cpl_crc32c_hardware_available(void);
/// Continues a CRC-32C over `count` bytes with the `crc32` instruction; `crc` is the running,
/// already inverted value. Only call it when `cpl_crc32c_hardware_available()` is 1.
uint32_t cpl_crc32c_hardware(uint32_t crc, const void *bytes, size_t count);

#endif
