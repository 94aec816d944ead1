#define _GNU_SOURCE
#include "CPaymentsLinux.h"
#include <sys/socket.h>
#include <sys/file.h>

int cpl_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cpl_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    cpl_epoll_event_set(&ev, events, data);
    return epoll_ctl(epfd, op, fd, &ev);
}

int cpl_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    return epoll_wait(epfd, events, maxevents, timeout);
}

int cpl_accept4(int fd, void *addr, unsigned int *len, int flags) {
    return accept4(fd, (struct sockaddr *)addr, (socklen_t *)len, flags);
}

int cpl_flock(int fd, int operation) { return flock(fd, operation); }
