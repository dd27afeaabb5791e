// Bounded zlib inflate for PNG zTXt/iTXt text (the "parameters" chunk): output past `limit` bytes
// stops the inflate, so a small compressed chunk cannot expand into a decompression bomb
// (Pillow's PngImagePlugin._safe_zlib_decompress refuses the same way, at MAX_TEXT_CHUNK).
#include "sd_codecs.h"
#include <stdlib.h>
#include <zlib.h>

int sd_inflate_bounded(const uint8_t *data, size_t len, size_t limit, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (len > UINT32_MAX || limit > UINT32_MAX) return SD_TOO_LARGE;
    // limit + 1 bytes of room: filling it means the text is longer than the limit.
    uint8_t *buf = malloc(limit + 1);
    if (!buf) return SD_TOO_LARGE;
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK) { free(buf); return SD_BAD_DATA; }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)(limit + 1);
    int rc = inflate(&z, Z_FINISH);
    size_t produced = (size_t)(limit + 1) - z.avail_out;
    inflateEnd(&z);
    if (produced > limit) { free(buf); return SD_TOO_LARGE; }
    // Z_BUF_ERROR with output room left: the stream is truncated. Pillow's zlib.decompressobj
    // returns what a truncated stream yields, so that is kept as the text.
    if (rc != Z_STREAM_END && rc != Z_BUF_ERROR) { free(buf); return SD_BAD_DATA; }
    *out = buf;
    *out_len = produced;
    return SD_OK;
}
