/* systemd.h - socket activation (LISTEN_FDS/LISTEN_PID) and readiness
 * notification (NOTIFY_SOCKET), without libsystemd. */
#ifndef CG_SYSTEMD_H
#define CG_SYSTEMD_H

/* The number of sockets passed by systemd (fds 3, 4, ...), or 0 when
 * LISTEN_FDS is absent or meant for another process. */
int cg_systemd_listen_fds(void);
/* Send state (e.g. "READY=1\nSTATUS=...") to $NOTIFY_SOCKET; 0 if sent,
 * 1 if there is no NOTIFY_SOCKET, -1 on error. */
int cg_systemd_notify(const char *state);

#endif
