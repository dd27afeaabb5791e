// sd_codecs.h — thin libpng/libjpeg wrappers whose only job is error recovery.
// libpng and libjpeg report fatal errors by longjmp (libjpeg's default even calls exit()),
// which Swift cannot catch; these functions turn every such error into a return code and a message.
#ifndef SD_CODECS_H
#define SD_CODECS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width;
    int height;
    int channels;   // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    int bit_depth;  // 8 or 16 (16-bit samples are native-endian uint16)
    void *pixels;   // malloc'd, row-major interleaved; free with sd_free
} sd_image;

// Largest width/height accepted by the decoders, whatever the pixel limit.
#define SD_MAX_SIDE 32768

// All functions return 0 on success, non-zero on failure with a message in err.
// Decoders read the header first and refuse, before allocating any pixels, an image of more than
// max_pixels pixels (SD_TOO_LARGE) or one whose header claims more pixels than the file's bytes can
// encode (a decompression bomb or a lying header: SD_BAD_DATA).
enum { SD_OK = 0, SD_BAD_DATA = 1, SD_TOO_LARGE = 2 };
int sd_png_decode(const uint8_t *data, size_t len, long long max_pixels, sd_image *out, char *err, size_t errlen);
int sd_jpeg_decode(const uint8_t *data, size_t len, long long max_pixels, sd_image *out, char *err, size_t errlen);
// Text value i is written as tEXt (Latin-1 bytes) or, when text_itxt[i] is non-zero, as iTXt (UTF-8).
int sd_png_encode(const sd_image *img, const char *const *text_keys, const char *const *text_values,
                  const int *text_itxt, int text_count, uint8_t **out, size_t *out_len, char *err, size_t errlen);
int sd_jpeg_encode(const sd_image *img, int quality, uint8_t **out, size_t *out_len,
                   char *err, size_t errlen);
void sd_free(void *p);
// zlib stream `data` inflated into a malloc'd buffer (free with sd_free) of at most `limit` bytes:
// SD_TOO_LARGE when the output would be longer, SD_BAD_DATA when the stream is corrupt.
int sd_inflate_bounded(const uint8_t *data, size_t len, size_t limit, uint8_t **out, size_t *out_len);

#endif
