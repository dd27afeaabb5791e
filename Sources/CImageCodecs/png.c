// PNG decode/encode through libpng with setjmp error recovery (see sd_codecs.h).
#include "sd_codecs.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    char *err;
    size_t errlen;
    int too_large;
} png_reader;

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int failed;
} png_writer;

static void on_error(png_structp png, png_const_charp msg) {
    png_reader *r = (png_reader *)png_get_error_ptr(png);
    if (r && r->err) snprintf(r->err, r->errlen, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void read_bytes(png_structp png, png_bytep out, size_t n) {
    png_reader *r = (png_reader *)png_get_io_ptr(png);
    if (n > r->len - r->pos) png_error(png, "file is truncated");
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

int sd_png_decode(const uint8_t *data, size_t len, long long max_pixels, sd_image *out, char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    if (len < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(err, errlen, "not a PNG file");
        return 1;
    }
    png_reader r = {data, len, 0, err, errlen, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    if (!png) { snprintf(err, errlen, "out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    // volatile: modified between setjmp and longjmp.
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        if (err[0] == 0) snprintf(err, errlen, "corrupt PNG data");
        return r.too_large ? SD_TOO_LARGE : SD_BAD_DATA;
    }
    png_set_user_limits(png, SD_MAX_SIDE, SD_MAX_SIDE);
    png_set_read_fn(png, &r, read_bytes);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info);
    int ctype = png_get_color_type(png, info);
    char msg[160];
    if ((long long)w * (long long)h > max_pixels) {
        snprintf(msg, sizeof msg, "image is %ux%u = %lld pixels, above the limit of %lld (--max-pixels)",
                 (unsigned)w, (unsigned)h, (long long)w * h, max_pixels);
        r.too_large = 1;
        png_error(png, msg);
    }
    // Deflate expands at most 1032:1, so a header claiming more filtered row data (the file's own
    // bit depth, before any expansion) than the file could inflate to is a lie: refuse it before
    // allocating the image.
    if ((double)(png_get_rowbytes(png, info) + 1) * h > 1032.0 * (double)len + 65536.0) {
        snprintf(msg, sizeof msg, "header claims %ux%u, more pixel data than a %zu-byte file can hold",
                 (unsigned)w, (unsigned)h, len);
        png_error(png, msg);
    }
    // Palette -> RGB, gray < 8 bit -> 8 bit, tRNS -> alpha channel.
    png_set_expand(png);
    if (depth == 16) {
        const int one = 1;
        if (*(const char *)&one == 1) png_set_swap(png);  // big-endian file -> native little-endian
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    (void)ctype;
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * channels * (out_depth / 8)) png_error(png, "unexpected row layout");

    pixels = malloc(rowbytes * h);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)w;
    out->height = (int)h;
    out->channels = channels;
    out->bit_depth = out_depth;
    out->pixels = pixels;
    return 0;
}

static void write_bytes(png_structp png, png_bytep in, size_t n) {
    png_writer *wr = (png_writer *)png_get_io_ptr(png);
    if (wr->len + n > wr->cap) {
        size_t cap = wr->cap ? wr->cap * 2 : 65536;
        while (cap < wr->len + n) cap *= 2;
        uint8_t *nb = realloc(wr->buf, cap);
        if (!nb) png_error(png, "out of memory");
        wr->buf = nb;
        wr->cap = cap;
    }
    memcpy(wr->buf + wr->len, in, n);
    wr->len += n;
}

static void flush_bytes(png_structp png) { (void)png; }

int sd_png_encode(const sd_image *img, const char *const *keys, const char *const *values, const int *itxt,
                  int count, uint8_t **out, size_t *out_len, char *err, size_t errlen) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    if (img->channels < 1 || img->channels > 4 || (img->bit_depth != 8 && img->bit_depth != 16)) {
        snprintf(err, errlen, "unsupported image layout");
        return 1;
    }
    png_reader r = {NULL, 0, 0, err, errlen};
    png_writer wr = {NULL, 0, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    if (!png) { snprintf(err, errlen, "out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    png_textp volatile texts = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(rows);
        free(texts);
        free(wr.buf);
        png_destroy_write_struct(&png, info ? &info : NULL);
        return 1;
    }
    png_set_write_fn(png, &wr, write_bytes, flush_bytes);
    png_set_IHDR(png, info, img->width, img->height, img->bit_depth, types[img->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (count > 0) {
        texts = calloc((size_t)count, sizeof(png_text));
        if (!texts) png_error(png, "out of memory");
        for (int i = 0; i < count; i++) {
            texts[i].compression = itxt && itxt[i] ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
            texts[i].key = (png_charp)keys[i];
            texts[i].text = (png_charp)values[i];
        }
        png_set_text(png, info, texts, count);
    }
    png_write_info(png, info);
    if (img->bit_depth == 16) {
        const int one = 1;
        if (*(const char *)&one == 1) png_set_swap(png);
    }
    size_t rowbytes = (size_t)img->width * img->channels * (img->bit_depth / 8);
    rows = malloc(sizeof(png_bytep) * img->height);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < img->height; y++) rows[y] = (png_bytep)img->pixels + (size_t)y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, info);
    free(rows);
    free(texts);
    png_destroy_write_struct(&png, &info);
    *out = wr.buf;
    *out_len = wr.len;
    return 0;
}

void sd_free(void *p) { free(p); }
