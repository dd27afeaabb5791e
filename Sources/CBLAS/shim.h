#include <cblas.h>
// Declared by OpenBLAS (openblas_config.h / cblas.h); repeated here so the module builds with
// any cblas.h that the openblas pkg-config path provides.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
char *openblas_get_config(void);
