/* lease_owner.h - who holds a mailbox lease, written so that a restarted
 * ticketd can prove its crashed predecessor is gone.
 *
 * The owner string is "host:pid:boot:pidns:random": the host name, the
 * process id, the first 12 hex digits of the kernel's boot id, the pid
 * namespace's inode and a random tag. A holder is provably gone only
 * when it ran on this host, in this boot, in this pid namespace (so its
 * pid means the same process table: two containers with one host name
 * share the kernel's boot id but not the namespace), is not this process,
 * and kill(pid, 0) answers ESRCH. Anything else (another host, an older
 * owner format, a pid that is alive or reused) proves nothing: the
 * poller waits for the lease to expire as before. */
#ifndef MGW_LEASE_OWNER_H
#define MGW_LEASE_OWNER_H

#include <stdbool.h>
#include <stddef.h>

/* A new owner string for this process into out (at most n bytes). */
void lease_owner_make(char *out, size_t n);

/* True when holder names a process of this host, boot and pid namespace
 * (other than this one) that no longer exists. */
bool lease_owner_gone(const char *holder);

#endif
