// libpq's client API, for PaymentsPostgres only (pkg-config libpq gives -I/usr/include/postgresql).
#include <libpq-fe.h>
