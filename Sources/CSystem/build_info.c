// The git commit sdedit was built from. `make` writes it to build_commit.h (scripts/build_commit.sh,
// not committed); a plain `swift build` without that file builds too, and says so.
#include "sd_system.h"
#if __has_include("build_commit.h")
#include "build_commit.h"
#endif
#ifndef SDEDIT_COMMIT
#define SDEDIT_COMMIT "unknown (built without make)"
#endif

const char *sd_build_commit(void) { return SDEDIT_COMMIT; }
