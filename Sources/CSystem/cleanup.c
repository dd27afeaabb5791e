// Removal of the temporary output file on a terminating signal (see sd_system.h).
#include "sd_system.h"
#include <signal.h>
#include <string.h>
#include <unistd.h>

static char pending[4096];
static volatile sig_atomic_t has_pending;

static void on_signal(int sig) {
    if (has_pending) unlink(pending);   // async-signal-safe
    signal(sig, SIG_DFL);
    raise(sig);
}

void sd_cleanup_install(void) {
    static int installed;
    if (installed) return;
    installed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        // A signal the parent set to be ignored (nohup) stays ignored.
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
    signal(SIGXFSZ, SIG_IGN);
}

void sd_cleanup_set(const char *path) {
    has_pending = 0;
    if (!path) return;
    size_t n = strlen(path);
    if (n >= sizeof pending) return;   // too long to remember; the normal paths still remove it
    memcpy(pending, path, n + 1);
    has_pending = 1;
}
