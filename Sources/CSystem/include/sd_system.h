// Process-level helpers Swift cannot write safely: signal handlers must be async-signal-safe.
#ifndef SD_SYSTEM_H
#define SD_SYSTEM_H

// Install once: on SIGINT, SIGTERM, SIGHUP or SIGQUIT the temporary output file (if any) is removed
// before the process dies of that signal; SIGXFSZ is ignored, so a write over the file-size limit
// fails with EFBIG (an ordinary write error) instead of killing the process mid-write.
void sd_cleanup_install(void);
// The temporary file to remove on such a signal; NULL when there is none.
void sd_cleanup_set(const char *path);
// The git commit this binary was built from (build_info.c).
const char *sd_build_commit(void);

#endif
