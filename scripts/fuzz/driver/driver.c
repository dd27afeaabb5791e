// LLVMFuzzerRunDriver is libFuzzer's entry point for programs with their own main (compiler-rt
// FuzzerInterface.h). Declared weak: a normal build links without libFuzzer and replays a corpus.
#include "sd_fuzz.h"

extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t)) __attribute__((weak));

int sd_fuzz_run(int *argc, char ***argv, sd_fuzz_callback cb) {
    if (!LLVMFuzzerRunDriver) return -1;
    return LLVMFuzzerRunDriver(argc, argv, cb);
}
