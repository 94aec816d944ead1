// What Glibc's Swift module does not export: epoll, and a safe read of the packed epoll_event.
#ifndef CPAYMENTSLINUX_H
#define CPAYMENTSLINUX_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
#endif
