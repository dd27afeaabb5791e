// glibc allocator tuning (mallopt), not exported by Swift's Glibc module.
#include <malloc.h>
