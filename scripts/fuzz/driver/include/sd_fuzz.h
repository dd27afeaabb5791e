// libFuzzer's driver when the fuzzer is linked in (swift build -Xswiftc -sanitize=fuzzer), else absent.
#ifndef SD_FUZZ_H
#define SD_FUZZ_H
#include <stddef.h>
#include <stdint.h>

typedef int (*sd_fuzz_callback)(const uint8_t *data, size_t size);
// Runs libFuzzer with argc/argv and `cb`; returns -1 when this binary was built without libFuzzer.
int sd_fuzz_run(int *argc, char ***argv, sd_fuzz_callback cb);

#endif
