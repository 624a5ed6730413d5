/* sdnotify.h - tell systemd (Type=notify) that ticketd is ready,
 * reloading, stopping, or alive (the watchdog). See sdnotify.c. */
#ifndef TD_CLI_SDNOTIFY_H
#define TD_CLI_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Sends state ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET; true when sent
 * or when there is no socket. */
bool sdnotify(const char *state);
/* How often to send WATCHDOG=1 (half of $WATCHDOG_USEC, in ms), or 0 when
 * systemd runs no watchdog for this process. */
int64_t sdnotify_watchdog_ms(void);

#endif
